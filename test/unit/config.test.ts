/** Every REALER_* variable configFromEnv reads: its value, its default, and how a bad value is refused. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { configFromEnv, defaultConfig, type RealerConfig } from "../../src/config/config.js";
import { STREAM_LIMITS } from "../../src/config/stream-limits.js";
import { codeOf } from "../../src/errors.js";

const NATS = { REALER_NATS_URL: "nats://127.0.0.1:4222" };
const from = (env: Record<string, string>) => configFromEnv({ ...NATS, ...env });

/** Variable, where it lands, and the smallest value it takes. */
const INTS: [string, (c: RealerConfig) => unknown, number][] = [
  ["REALER_WORKER_ACK_WAIT_MS", (c) => c.worker.ackWaitMs, 1],
  ["REALER_WORKER_MAX_DELIVER", (c) => c.worker.maxDeliver, 1],
  ["REALER_WORKER_MAX_IN_FLIGHT", (c) => c.worker.maxInFlight, 1],
  ["REALER_PORT", (c) => c.edge.port, 0],
  ["REALER_HEARTBEAT_MS", (c) => c.edge.heartbeatMs, 100],
  ["REALER_EDGE_VERIFY_MS", (c) => c.edge.verifyMs, 10],
  ["REALER_UNWATCH_AFTER_MS", (c) => c.edge.unwatchAfterMs, 0],
  ["REALER_SUBSCRIBE_TIMEOUT_MS", (c) => c.edge.subscribeTimeoutMs, 1],
  ["REALER_MAX_IDLE_CHANNELS", (c) => c.edge.maxIdleChannels, 0],
  ["REALER_MAX_CHANNELS", (c) => c.edge.maxChannels, 1],
  ["REALER_MAX_CONNECTIONS_PER_ADDRESS", (c) => c.edge.maxConnectionsPerAddress, 0],
  ["REALER_MAX_QUEUED_BYTES", (c) => c.edge.maxQueuedBytes, 1024],
  ["REALER_MAX_QUEUED_FRAMES", (c) => c.edge.maxQueuedFrames, 1],
  ["REALER_STALL_TIMEOUT_MS", (c) => c.edge.stallTimeoutMs, 100],
  ["REALER_DRAIN_SPREAD_MS", (c) => c.edge.drainSpreadMs, 0],
  ["REALER_DRAIN_VERIFY_MS", (c) => c.edge.drainVerifyMs, 0],
  ["REALER_INGEST_MAX_BYTES", (c) => c.ingest.maxBodyBytes, 1024],
  ["REALER_INGEST_MAX_BATCH", (c) => c.ingest.maxBatch, 1],
  ["REALER_METRICS_PORT", (c) => c.admin.metricsPort, 0],
  ["REALER_STREAM_REPLICAS", (c) => c.streams.events.replicas, 1],
  ["REALER_EVENT_PARTITIONS", (c) => c.subjects.eventPartitions, 1],
];

const STRINGS: [string, (c: RealerConfig) => unknown][] = [
  ["REALER_NATS_URL", (c) => c.nats],
  ["REALER_LOG_LEVEL", (c) => c.logLevel],
  ["REALER_ADMIN_TOKEN", (c) => c.admin.token],
  ["REALER_WORKER_DURABLE", (c) => c.worker.durable],
  ["REALER_HOST", (c) => c.edge.host],
  ["REALER_AUTH_HMAC_SECRET", (c) => c.edge.auth.hmacSecret],
  ["REALER_AUTH_PUBLIC_KEY", (c) => c.edge.auth.publicKey],
  ["REALER_AUTH_ISSUER", (c) => c.edge.auth.issuer],
  ["REALER_AUTH_AUDIENCE", (c) => c.edge.auth.audience],
];

const LISTS: [string, (c: RealerConfig) => unknown][] = [
  ["REALER_CORS_ORIGINS", (c) => c.edge.corsOrigins],
  ["REALER_PRIVATE_CHANNELS", (c) => c.edge.auth.privateChannels],
  ["REALER_INGEST_KEYS", (c) => c.ingest.keys],
  ["REALER_METRICS_URLS", (c) => c.admin.metricsUrls],
];

const refusedNaming = (name: string) => (err: Error) =>
  codeOf(err) === "REALER_ERR_CONFIG_INVALID" && err.message.includes(name);

describe("configFromEnv", () => {
  it("tests every variable it reads", () => {
    const read = new Set<string>();
    configFromEnv(
      new Proxy(
        {},
        {
          get: (_t, key) => {
            if (typeof key === "string") read.add(key);
            return undefined;
          },
        },
      ),
    );
    const tested = [...INTS, ...STRINGS, ...LISTS].map(([name]) => name);
    tested.push("REALER_WORKER_PIPELINES", ...STREAM_LIMITS.map((s) => s.env));
    assert.deepEqual([...read].sort(), [...new Set(tested)].sort());
  });

  it("gives the defaults when nothing is set, and takes an empty variable as unset", () => {
    const expected = { ...defaultConfig(), nats: NATS.REALER_NATS_URL };
    assert.deepEqual(from({}), expected);
    const empty = Object.fromEntries([...INTS, ...STRINGS, ...LISTS].map(([n]) => [n, ""]));
    assert.deepEqual(
      from({ ...empty, REALER_NATS_URL: NATS.REALER_NATS_URL, REALER_WORKER_PIPELINES: "" }),
      expected,
    );
  });

  for (const [name, get, min] of INTS) {
    it(`reads ${name} as an integer >= ${min} and refuses anything else, naming it`, () => {
      assert.equal(get(from({ [name]: String(min + 3) })), min + 3);
      assert.equal(get(from({ [name]: String(min) })), min);
      for (const bad of [String(min - 1), "1.5", "ten", "1e400", "0x"]) {
        assert.throws(() => from({ [name]: bad }), refusedNaming(name), `${name}=${bad}`);
      }
    });
  }

  for (const [name, get] of STRINGS) {
    it(`reads ${name} as a string`, () => {
      assert.equal(get(from({ [name]: "some-value" })), "some-value");
    });
  }

  for (const [name, get] of LISTS) {
    it(`reads ${name} as a comma-separated list, dropping blanks and empty items`, () => {
      assert.deepEqual(get(from({ [name]: " a , b,,c," })), ["a", "b", "c"]);
      assert.deepEqual(get(from({ [name]: "only" })), ["only"]);
    });
  }

  it("keeps the metrics port off unless REALER_METRICS_PORT is set", () => {
    assert.equal(from({}).admin.metricsPort, undefined);
  });

  it("gives every stream REALER_STREAM_REPLICAS copies, at most JetStream's 5", () => {
    const c = from({ REALER_STREAM_REPLICAS: "3" });
    assert.deepEqual(
      [c.streams.events.replicas, c.streams.channels.replicas, c.streams.deadLetters.replicas],
      [3, 3, 3],
    );
    assert.equal(from({}).streams.events.replicas, undefined);
    assert.throws(() => from({ REALER_STREAM_REPLICAS: "6" }), refusedNaming("at most 5 replicas"));
  });

  it("reads REALER_WORKER_PIPELINES as a JSON object of stage lists", () => {
    const spec = { "*": ["validate", "route", "format", "publish"], "comment.deleted": ["publish"] };
    assert.deepEqual(from({ REALER_WORKER_PIPELINES: JSON.stringify(spec) }).worker.pipelines, spec);
    const cases: [string, RegExp][] = [
      ["{not json", /REALER_WORKER_PIPELINES: not JSON/],
      ["[]", /REALER_WORKER_PIPELINES: not a JSON object/],
      ["null", /REALER_WORKER_PIPELINES: not a JSON object/],
      ['{"*":"validate"}', /"\*" is not a list of stage names/],
      ['{"a":["route",3]}', /"a" is not a list of stage names/],
    ];
    for (const [raw, why] of cases) {
      assert.throws(
        () => from({ REALER_WORKER_PIPELINES: raw }),
        (err: Error) => codeOf(err) === "REALER_ERR_CONFIG_INVALID" && why.test(err.message),
        raw,
      );
    }
  });

  it("overrides the base it is given and changes neither the base nor the variables", () => {
    const base = defaultConfig();
    base.edge.maxChannels = 7;
    const env = { REALER_PORT: "9000" };
    const c = configFromEnv(env, base);
    assert.equal(c.edge.maxChannels, 7);
    assert.equal(c.edge.port, 9000);
    assert.equal(base.edge.port, 8080);
    assert.deepEqual(env, { REALER_PORT: "9000" });
  });

  it("returns a fresh default config each call", () => {
    const a = defaultConfig();
    a.edge.corsOrigins.push("x");
    a.worker.pipelines.x = [];
    assert.deepEqual(defaultConfig().edge.corsOrigins, ["*"]);
    assert.deepEqual(defaultConfig().worker.pipelines, {});
  });
});
