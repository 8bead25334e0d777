/**
 * Runs a suite once per broker: on the in-memory broker and on a real
 * nats-server, so that a test written once holds for both, as the contract
 * suite does for the broker itself. Each variant gets one broker for the
 * whole suite (one nats-server with a temporary store for JetStream),
 * started before its first test and stopped after its last.
 */
import { after, before, describe } from "node:test";
import { JetStreamBroker } from "../../src/broker/jetstream/broker.js";
import { MemoryBroker } from "../../src/broker/memory/broker.js";
import type {
  AdminBroker,
  FetchOptions,
  LiveSubjectSource,
  LiveSubjects,
  Signals,
} from "../../src/broker/types.js";
import { type NatsServer, type NatsServerOptions, startNatsServer } from "./nats-server.js";

export type BrokerKind = "memory" | "jetstream";

export const BROKER_KINDS: readonly BrokerKind[] = ["memory", "jetstream"];

export interface SuiteBroker {
  readonly kind: BrokerKind;
  /** The suite's broker, shared by its tests; usable from the suite's `before` hooks on. */
  readonly broker: AdminBroker;
  /** The suite's nats-server (JetStream only). */
  readonly server: NatsServer | undefined;
  /**
   * Another client of the suite's broker, as a second process would have:
   * on JetStream a connection of its own; on memory a view of the one broker
   * whose `close()` ends only what was opened through it. Closed after the suite.
   */
  connect(name: string): Promise<AdminBroker>;
}

export interface ForEachBrokerOptions {
  /** How the suite's nats-server is started (JetStream only). */
  server?: NatsServerOptions;
}

/**
 * Calls `body` once per broker kind inside a `describe` named after the kind;
 * the suite's broker is started in that describe's `before` hook, so read
 * `b.broker` in hooks and tests, never while the suite is being declared.
 */
export function forEachBroker(
  body: (kind: BrokerKind, b: SuiteBroker) => void,
  opts: ForEachBrokerOptions = {},
): void {
  for (const kind of BROKER_KINDS) {
    describe(`${kind} broker`, () => {
      const b = new Suite(kind);
      before(() => b.start(opts.server));
      after(() => b.stop());
      body(kind, b);
    });
  }
}

class Suite implements SuiteBroker {
  #broker: AdminBroker | undefined;
  #server: NatsServer | undefined;
  readonly #clients: AdminBroker[] = [];

  constructor(readonly kind: BrokerKind) {}

  get broker(): AdminBroker {
    if (!this.#broker)
      throw new Error(`the ${this.kind} broker is not started yet: read it in a hook or a test`);
    return this.#broker;
  }

  get server(): NatsServer | undefined {
    return this.#server;
  }

  async start(server: NatsServerOptions = {}): Promise<void> {
    if (this.kind === "memory") {
      this.#broker = new MemoryBroker();
      return;
    }
    this.#server = await startNatsServer(server);
    this.#broker = await JetStreamBroker.connect({ servers: this.#server.url, name: "test-suite" });
  }

  async connect(name: string): Promise<AdminBroker> {
    const shared = this.broker;
    const c =
      this.kind === "memory"
        ? memoryClient(shared)
        : await JetStreamBroker.connect({ servers: this.#server!.url, name });
    this.#clients.push(c);
    return c;
  }

  async stop(): Promise<void> {
    for (const c of this.#clients) await c.close();
    await this.#broker?.close();
    await this.#server?.stop();
  }
}

/**
 * A client of a shared in-memory broker that can be closed on its own: its
 * closing ends the live subscriptions, listeners and fetches it opened and
 * silences its signals and publishes, as a dropped connection would; the
 * broker goes on.
 */
function memoryClient(shared: AdminBroker): AdminBroker {
  let closed = false;
  const opened = new Set<() => void>();
  const aborts = new AbortController();
  const track = (stop: () => void): (() => void) => {
    opened.add(stop);
    return () => {
      opened.delete(stop);
      stop();
    };
  };
  const signals = shared as AdminBroker & Signals;
  const live = shared as AdminBroker & LiveSubjects;
  const own: Partial<Record<PropertyKey, unknown>> = {
    get connected() {
      return !closed && shared.connected;
    },
    liveSubjects: async (stream: string): Promise<LiveSubjectSource | undefined> => {
      const src = await live.liveSubjects(stream);
      if (!src) return undefined;
      return {
        subscribe: (subject, onMessage) => track(src.subscribe(subject, onMessage)),
        flush: () => src.flush(),
        onLoss: (fn) => track(src.onLoss(fn)),
        read: (fromSeq, toSeq, subject) => src.read(fromSeq, toSeq, subject),
        lastSeq: () => src.lastSeq(),
      };
    },
    listen: (subject: string, fn: (subject: string, data: Uint8Array) => void) => {
      const l = signals.listen(subject, fn);
      return { stop: track(() => l.stop()) };
    },
    signal: (subject: string, data: Uint8Array) => {
      if (!closed) signals.signal(subject, data);
    },
    publish: (...args: Parameters<AdminBroker["publish"]>) =>
      closed ? Promise.reject(new Error("connection closed")) : shared.publish(...args),
    fetch: (stream: string, durable: string, o: FetchOptions) =>
      shared.fetch(stream, durable, {
        ...o,
        signal: o.signal ? AbortSignal.any([o.signal, aborts.signal]) : aborts.signal,
      }),
    close: async () => {
      closed = true;
      aborts.abort();
      for (const stop of [...opened]) stop();
      opened.clear();
    },
  };
  return new Proxy(shared, {
    get(target, prop) {
      if (prop in own) return Reflect.get(own, prop);
      const v: unknown = Reflect.get(target, prop, target);
      return typeof v === "function" ? v.bind(target) : v;
    },
  });
}
