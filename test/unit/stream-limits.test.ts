/** Stream limits from the environment and from flags, the embedded defaults, and the checks at start-up. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { configFrom } from "../../src/cli/options.js";
import { configFromEnv, defaultConfig } from "../../src/config/config.js";
import {
  checkStreamLimits,
  embeddedStreamLimits,
  flagOf,
  STREAM_LIMITS,
} from "../../src/config/stream-limits.js";
import { codeOf } from "../../src/errors.js";
import { checkDuplicateWindow, redeliverySpanMs } from "../../src/worker/redelivery.js";

const NATS = { REALER_NATS_URL: "nats://127.0.0.1:4222" };

describe("stream limits", () => {
  it("sets each limit from its environment variable", () => {
    STREAM_LIMITS.forEach((s, i) => {
      const v = 600_000 + i;
      const cfg = configFromEnv({ ...NATS, [s.env]: String(v) });
      assert.equal(cfg.streams[s.stream][s.field], v, s.env);
    });
  });

  it("removes a limit set to 0", () => {
    const cfg = configFromEnv({
      ...NATS,
      REALER_EVENTS_MAX_AGE_MS: "0",
      REALER_CHANNELS_MAX_PER_CHANNEL: "0",
    });
    assert.equal(cfg.streams.events.maxAgeMs, undefined);
    assert.equal(cfg.streams.channels.maxMsgsPerSubject, undefined);
  });

  it("refuses a value that is not a whole number, naming the variable", () => {
    for (const raw of ["1.5", "-1", "ten", "1e400"]) {
      assert.throws(
        () => configFromEnv({ REALER_CHANNELS_MAX_BYTES: raw }),
        (err: Error) =>
          codeOf(err) === "REALER_ERR_CONFIG_INVALID" && err.message.includes("REALER_CHANNELS_MAX_BYTES"),
      );
    }
    assert.throws(
      () => configFromEnv({ REALER_EVENTS_DUPLICATE_WINDOW_MS: "0" }),
      /expected an integer >= 1/,
    );
  });

  it("starts the embedded broker's streams from bounded limits, and JetStream's from the production ones", () => {
    const embedded = configFromEnv({});
    assert.deepEqual(embedded.streams, embeddedStreamLimits(defaultConfig().streams));
    assert.ok(embedded.streams.events.maxBytes! > 0 && embedded.streams.channels.maxBytes! > 0);
    assert.ok(embedded.streams.deadLetters.maxBytes! > 0);
    assert.deepEqual(configFromEnv(NATS).streams, defaultConfig().streams);
    assert.deepEqual(configFromEnv({ REALER_EVENTS_MAX_BYTES: "1000" }).streams.events.maxBytes, 1000);
  });

  it("takes each limit from its flag over the environment, and --nats picks the production defaults", () => {
    const flags: Record<string, string> = {};
    STREAM_LIMITS.forEach((s, i) => {
      const camel = flagOf(s).replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
      flags[camel] = String(700_000 + i);
    });
    const cfg = configFrom({ nats: "nats://127.0.0.1:4222", ...flags });
    STREAM_LIMITS.forEach((s, i) => {
      assert.equal(cfg.streams[s.stream][s.field], 700_000 + i, flagOf(s));
    });
    assert.equal(configFrom({ nats: "nats://127.0.0.1:4222" }).streams.events.maxBytes, undefined);
    assert.equal(configFrom({}).streams.events.maxBytes, 8 * 1024 * 1024);
  });

  it("refuses a bad flag value as a usage error naming the flag", () => {
    assert.throws(
      () => configFrom({ channelsMaxPerChannel: "many" } as Record<string, string>),
      (err: Error & { code?: string; exitCode?: number }) =>
        err.code === "REALER_ERR_CLI_USAGE" &&
        err.exitCode === 2 &&
        /--channels-max-per-channel/.test(err.message),
    );
  });

  it("refuses a duplicate window longer than the stream's max age", () => {
    const cfg = configFromEnv({ ...NATS, REALER_CHANNELS_MAX_AGE_MS: "60000" });
    assert.throws(
      () => checkStreamLimits(cfg.streams),
      (err: Error) =>
        codeOf(err) === "REALER_ERR_CONFIG_INVALID" &&
        /REALER_CHANNELS_DUPLICATE_WINDOW_MS/.test(err.message),
    );
    checkStreamLimits(defaultConfig().streams);
    checkStreamLimits(embeddedStreamLimits(defaultConfig().streams));
  });
});

describe("redelivery span", () => {
  it("is max deliveries ack waits plus the retry delays of all but the last delivery", () => {
    const w = { ackWaitMs: 1000, maxDeliver: 4, retryDelayMs: 100, maxRetryDelayMs: 250 };
    assert.equal(redeliverySpanMs(w), 4 * 1000 + 100 + 200 + 250);
    assert.equal(redeliverySpanMs({ ...w, maxDeliver: 1 }), 1000);
    assert.equal(redeliverySpanMs({ ...w, maxDeliver: -1 }), Number.POSITIVE_INFINITY);
  });

  it("fits the channel stream's duplicate window with the defaults, on either broker", () => {
    const d = defaultConfig();
    assert.ok(redeliverySpanMs(d.worker) <= d.streams.channels.duplicateWindowMs!);
    checkDuplicateWindow(d.worker, d.streams.channels);
    checkDuplicateWindow(d.worker, configFromEnv({}).streams.channels);
  });

  it("refuses a window shorter than the span with REALER_ERR_DUPLICATE_WINDOW_SHORT", () => {
    const w = { ackWaitMs: 1000, maxDeliver: 3, retryDelayMs: 50, maxRetryDelayMs: 1000 };
    const channels = { name: "C", subjects: ["c.>"], duplicateWindowMs: 3149 };
    assert.throws(
      () => checkDuplicateWindow(w, channels),
      (err: Error) =>
        codeOf(err) === "REALER_ERR_DUPLICATE_WINDOW_SHORT" && /3149 ms.*3150 ms/.test(err.message),
    );
    checkDuplicateWindow(w, { ...channels, duplicateWindowMs: 3150 });
  });
});
