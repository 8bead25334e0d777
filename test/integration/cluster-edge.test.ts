/**
 * `realer edge --workers N`: N edge processes behind one port, started by the
 * real CLI against a real nats-server. Events go in through the HTTP ingest
 * (whichever process takes the POST), through a pipeline worker, and out to
 * SSE clients spread over every process.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { readdirSync, readlinkSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import { JetStreamBroker } from "../../src/broker/jetstream/broker.js";
import { CommentCreated } from "../../src/demo/comments.js";
import { type NatsServer, startNatsServer } from "../helpers/nats-server.js";
import { type SseClient, sseConnect } from "../helpers/sse-client.js";
import { type Stack, startStack } from "../helpers/stack.js";
import { waitFor } from "../helpers/wait.js";

const MAIN = new URL("../../src/cli/main.ts", import.meta.url).pathname;
const INGEST_KEY = "cluster-test-key";

interface LogLine {
  pid: number;
  msg: string;
  url?: string;
  pids?: number[];
}

/** The CLI as a child process, its JSON log lines collected as they arrive. */
function startCli(args: string[]): { proc: ChildProcess; lines: LogLine[]; exit: Promise<number | null> } {
  const proc = spawn(process.execPath, ["--import", "tsx", MAIN, ...args], {
    env: { ...process.env, REALER_LOG_LEVEL: "info", REALER_INGEST_KEYS: INGEST_KEY },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const lines: LogLine[] = [];
  let rest = "";
  proc.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
    const parts = (rest + chunk).split("\n");
    rest = parts.pop() ?? "";
    for (const p of parts) {
      try {
        lines.push(JSON.parse(p) as LogLine);
      } catch {
        // not a log line
      }
    }
  });
  proc.stderr!.resume();
  const exit = new Promise<number | null>((r) => proc.once("exit", (code) => r(code)));
  return { proc, lines, exit };
}

/** Sockets a process holds open (its fd table, not the namespace-wide /proc/net). */
function socketCount(pid: number): number {
  let n = 0;
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      if (readlinkSync(`/proc/${pid}/fd/${fd}`).startsWith("socket:")) n++;
    } catch {
      // closed while we looked
    }
  }
  return n;
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

async function postComment(base: string, thread: string, n: number): Promise<void> {
  const res = await fetch(new URL("/v1/events", base), {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${INGEST_KEY}` },
    body: JSON.stringify({
      type: CommentCreated.name,
      key: `thread:${thread}`,
      data: {
        comment: {
          id: `${thread}-${n}`,
          threadId: thread,
          author: "t",
          text: `m${n}`,
          createdAt: Date.now(),
        },
      },
    }),
  });
  assert.equal(res.status, 202, await res.text());
}

const idOf = (data: string) => (JSON.parse(data) as { data: { id: string } }).data.id;

// JetStream only: edge processes share a broker only through nats-server.
describe("an edge cluster: several processes behind one port", () => {
  const WORKERS = 2;
  let nats: NatsServer;
  let broker: JetStreamBroker;
  let pipeline: Stack;
  let cli: ReturnType<typeof startCli>;
  let base: string;
  let pids: number[];
  const clients: SseClient[] = [];

  before(async () => {
    nats = await startNatsServer();
    broker = await JetStreamBroker.connect({ servers: nats.url });
    // The pipeline worker runs here; the cluster only serves HTTP.
    pipeline = await startStack(broker, { edge: false });
    cli = startCli(["edge", "--workers", String(WORKERS), "--port", "0", "--nats", nats.url]);
    const ready = await waitFor(() => cli.lines.find((l) => l.msg === "edge cluster listening"), {
      timeoutMs: 45_000,
      what: "the edge cluster to listen",
    });
    base = ready.url!;
    pids = ready.pids!;
  });

  after(async () => {
    for (const c of clients) c.close();
    if (cli?.proc.exitCode === null) {
      cli.proc.kill("SIGKILL");
      for (const p of pids ?? []) if (alive(p)) process.kill(p, "SIGKILL");
    }
    await pipeline?.close();
    await broker?.close();
    await nats?.stop();
  });

  it("forks the requested number of edge processes, all sharing one port", () => {
    assert.equal(pids.length, WORKERS);
    assert.equal(new Set(pids).size, WORKERS);
    assert.ok(!pids.includes(cli.proc.pid!), "the primary serves no requests itself");
    const listening = cli.lines.filter((l) => l.msg === "edge listening");
    assert.deepEqual(new Set(listening.map((l) => l.url)), new Set([base]));
  });

  it("spreads connections over every process, and each serves its clients every message in order", async () => {
    const before = new Map(pids.map((p) => [p, socketCount(p)]));
    for (let i = 0; i < 12; i++) {
      const ch = i % 2 === 0 ? "thread:ca" : "thread:cb";
      const c = await sseConnect(`${base}/v1/sse?channel=${ch}`);
      assert.equal(c.status, 200);
      clients.push(c);
    }
    await waitFor(() => pids.every((p) => socketCount(p) > before.get(p)!), {
      timeoutMs: 10_000,
      what: "every edge process to hold some of the connections",
    });

    for (let n = 1; n <= 5; n++) {
      await postComment(base, "ca", n);
      await postComment(base, "cb", n);
    }
    const got = await Promise.all(clients.map((c) => c.waitForMessages(5, 30_000)));
    const byChannel = new Map<string, string[]>();
    got.forEach((msgs, i) => {
      const thread = i % 2 === 0 ? "ca" : "cb";
      assert.deepEqual(
        msgs.map((m) => idOf(m.data)),
        [1, 2, 3, 4, 5].map((n) => `${thread}-${n}`),
        "exactly the channel's messages, once each, in order",
      );
      const ids = msgs.map((m) => m.id!);
      const seen = byChannel.get(thread);
      if (seen) assert.deepEqual(ids, seen, "every process assigns the same SSE ids (stream sequences)");
      else byChannel.set(thread, ids);
    });
  });

  it("resumes a client from its Last-Event-ID on whichever process takes the reconnect", async () => {
    const first = clients[0]!;
    const msgs = first.messages();
    first.close();
    const resumed = await Promise.all(
      [0, 1, 2, 3].map(() =>
        sseConnect(`${base}/v1/sse?channel=thread:ca`, { "last-event-id": msgs[1]!.id! }),
      ),
    );
    clients.push(...resumed);
    for (const c of resumed) {
      const again = await c.waitForMessages(3, 20_000);
      assert.deepEqual(
        again.map((m) => m.id),
        msgs.slice(2).map((m) => m.id),
      );
    }
  });

  it("replaces an edge process that dies, and the port keeps serving", async () => {
    const victim = pids[0]!;
    process.kill(victim, "SIGKILL");
    const replacement = await waitFor(
      () => cli.lines.find((l) => l.msg === "edge listening" && !pids.includes(l.pid)),
      { timeoutMs: 45_000, what: "a replacement edge process" },
    );
    pids = [...pids.filter((p) => p !== victim), replacement.pid];
    // Round-robin: of four new connections at least one lands on each process, the new one included.
    const fresh = await Promise.all([0, 1, 2, 3].map(() => sseConnect(`${base}/v1/sse?channel=thread:cc`)));
    clients.push(...fresh);
    await postComment(base, "cc", 1);
    for (const c of fresh) assert.equal(idOf((await c.waitForMessages(1, 20_000))[0]!.data), "cc-1");
  });

  it("drains every process on SIGTERM and exits with status 0", async () => {
    cli.proc.kill("SIGTERM");
    assert.equal(await cli.exit, 0);
    for (const p of pids)
      await waitFor(() => !alive(p), { timeoutMs: 10_000, what: `edge process ${p} to exit` });
  });
});

// JetStream only: edge processes share a broker only through nats-server.
describe("realer dev with several edge processes", () => {
  it("runs the pipeline in the primary and serves the demo, ingest and SSE from every edge process", async () => {
    const nats = await startNatsServer();
    const dev = startCli(["dev", "--edge-workers", "2", "--port", "0", "--nats", nats.url]);
    const opened: SseClient[] = [];
    try {
      const ready = await waitFor(() => dev.lines.find((l) => l.msg === "edge cluster listening"), {
        timeoutMs: 45_000,
        what: "the dev cluster to listen",
      });
      assert.equal(ready.pids!.length, 2);
      const page = await fetch(new URL("/", ready.url));
      assert.equal(page.status, 200);
      for (let i = 0; i < 4; i++) opened.push(await sseConnect(`${ready.url}/v1/sse?channel=thread:dv`));
      await postComment(ready.url!, "dv", 1);
      for (const c of opened) assert.equal(idOf((await c.waitForMessages(1, 30_000))[0]!.data), "dv-1");
      dev.proc.kill("SIGTERM");
      assert.equal(await dev.exit, 0);
    } finally {
      for (const c of opened) c.close();
      if (dev.proc.exitCode === null) dev.proc.kill("SIGKILL");
      await nats.stop();
    }
  });
});

describe("edge cluster options", () => {
  const run = async (args: string[]) => {
    const env = { ...process.env };
    delete env.REALER_NATS_URL;
    const proc = spawn(process.execPath, ["--import", "tsx", MAIN, ...args], {
      env,
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    proc.stderr!.setEncoding("utf8").on("data", (d: string) => {
      stderr += d;
    });
    const code = await new Promise<number | null>((r) => proc.once("exit", (c) => r(c)));
    return { code, stderr };
  };

  it("refuses a worker count that is not a whole number from 1 to 64, with a usage error", async () => {
    for (const bad of ["0", "1.5"]) {
      const r = await run(["edge", "--workers", bad, "--nats", "nats://127.0.0.1:1"]);
      assert.equal(r.code, 2, r.stderr);
      assert.match(
        r.stderr,
        new RegExp(`--workers ${bad.replace(".", "\\.")}: expected an integer from 1 to 64`),
      );
    }
  });

  it("refuses several dev edge processes on the in-memory broker, which cannot be shared between processes", async () => {
    const r = await run(["dev", "--edge-workers", "2", "--port", "0"]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /--edge-workers above 1 needs --nats/);
  });
});
