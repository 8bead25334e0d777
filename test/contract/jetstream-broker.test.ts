import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { JetStreamBroker, natsConnectionOf } from "../../src/broker/jetstream/broker.js";
import { PubAcks } from "../../src/broker/jetstream/pub-acks.js";
import { codeOf } from "../../src/errors.js";
import { type NatsServer, startJetStream, startNatsServer } from "../helpers/nats-server.js";
import { waitFor } from "../helpers/wait.js";
import { brokerContract } from "./broker.contract.js";

brokerContract("jetstream", startJetStream);

// Publishes wait for their PubAck on one reply subscription of the broker's own (pub-acks.ts).
describe("JetStream publish acks", () => {
  let js: Awaited<ReturnType<typeof startJetStream>>;
  before(async () => {
    js = await startJetStream();
    await js.broker.ensureStream({ name: "PUBACKS", subjects: ["pa.>"], storage: "memory" });
  });
  after(async () => {
    await js?.close();
  });

  it("answers each of many publishes sent at once with its own sequence", async () => {
    const acks = await Promise.all(
      Array.from({ length: 200 }, (_, i) => js.broker.publish(`pa.${i % 7}`, new Uint8Array([i]))),
    );
    assert.deepEqual(
      acks.map((a) => a.seq),
      Array.from({ length: 200 }, (_, i) => i + 1),
    );
    assert.ok(acks.every((a) => a.stream === "PUBACKS" && a.duplicate === false));
  });

  it("rejects a publish that no stream takes", async () => {
    await assert.rejects(
      js.broker.publish("nobody.listens", new Uint8Array([1])),
      /no stream takes nobody.listens/,
    );
  });

  it("rejects a publish the stream refuses, with the server's reason", async () => {
    await assert.rejects(
      js.broker.publish("pa.x", new Uint8Array([1]), { headers: { "Nats-Expected-Stream": "ANOTHER" } }),
      /expected stream does not match/,
    );
  });

  it("fails a publish left unanswered once its timeout has passed", async () => {
    const silent = natsConnectionOf(js.broker).subscribe("silent.x", { callback: () => {} });
    const acks = new PubAcks(natsConnectionOf(js.broker), 100);
    try {
      const started = Date.now();
      await assert.rejects(acks.publish("silent.x", new Uint8Array([1])), { name: "TimeoutError" });
      assert.ok(Date.now() - started >= 100);
      assert.equal(acks.waiting, 0);
    } finally {
      acks.close();
      silent.unsubscribe();
    }
  });
});

describe("JetStream connect", () => {
  let plain: NatsServer;
  before(async () => {
    plain = await startNatsServer({ jetstream: false, monitor: true });
  });
  after(async () => {
    await plain?.stop();
  });

  it("rejects a server without JetStream with REALER_ERR_BROKER_UNAVAILABLE and closes its connection", async () => {
    await assert.rejects(
      JetStreamBroker.connect({ servers: plain.url, name: "no-jetstream" }),
      (err: Error) => {
        assert.equal(codeOf(err), "REALER_ERR_BROKER_UNAVAILABLE");
        assert.match(err.message, /JetStream/);
        return true;
      },
    );
    // Left open, the connection would reconnect forever and keep its process alive.
    await waitFor(
      async () => {
        const r = await fetch(`${plain.monitorUrl}/connz`);
        return ((await r.json()) as { num_connections: number }).num_connections === 0;
      },
      { timeoutMs: 10_000, what: "no client connection left on the server" },
    );
  });
});

describe("JetStream connect with credentials in the URL", () => {
  let locked: NatsServer;
  const port = () => new URL(locked.url).port;
  before(async () => {
    locked = await startNatsServer({ auth: { user: "realer", pass: "s3cret/pw" } });
  });
  after(async () => {
    await locked?.stop();
  });

  it("connects with nats://user:password@host, the password percent-encoded", async () => {
    const broker = await JetStreamBroker.connect({
      servers: [`nats://realer:s3cret%2Fpw@127.0.0.1:${port()}`],
      name: "credentials",
    });
    try {
      await broker.ensureStream({ name: "CREDS", subjects: ["creds.>"], storage: "memory" });
      assert.equal((await broker.publish("creds.one", new Uint8Array([1]))).seq, 1);
    } finally {
      await broker.close();
    }
  });

  it("refuses wrong credentials with REALER_ERR_BROKER_UNAVAILABLE and never shows the password", async () => {
    await assert.rejects(
      JetStreamBroker.connect({ servers: `nats://realer:wrong-pw@127.0.0.1:${port()}`, name: "wrong" }),
      (err: Error) => {
        assert.equal(codeOf(err), "REALER_ERR_BROKER_UNAVAILABLE");
        assert.match(err.message, /Authorization Violation/);
        assert.doesNotMatch(err.message, /wrong-pw/);
        assert.match(err.message, new RegExp(`nats://127\\.0\\.0\\.1:${port()}`));
        return true;
      },
    );
  });
});
