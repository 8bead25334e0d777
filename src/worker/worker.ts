/**
 * The worker actor: claims events from the durable consumers every worker
 * shares, one per partition of the events stream (events/partition.ts), runs
 * them through the pipeline and settles each. A partition's consumer hands
 * out one event at a time, the next only once it is settled, so a key's
 * events are processed in order across every worker, through retries and
 * worker deaths; partitions run in parallel. A worker holds at most
 * `maxInFlight` unsettled events: it pulls only while a slot is free
 * (pulling straight from an iterator into mergeMap would not bound it).
 *
 * The consumer allows `maxDeliver + 1` deliveries: the extra one only reaches
 * a worker when no ordinary attempt settled the event (its worker died), and
 * the max-deliveries guard dead-letters it at once (pipeline/max-deliveries.ts).
 *
 * Supervision: a stage that throws fails only its job (stage.ts); a pull that
 * fails is retried with a doubling delay, capped at 30 s; an Rx error in the
 * pipeline (an infrastructure bug) or a fatal failure fails the worker.
 *
 * Lifecycle (`WorkerState`): "idle" -> "running" -> "draining" -> "stopped",
 * and "failed" from "running" or "draining" on the first fatal failure
 * (`failure` holds it, `fatal` resolves with it; the process stops).
 * Draining and failing both stop pulling; `stop()` settles everything in
 * flight before it resolves (open pulls end on their own first, within
 * `fetchExpiresMs`), and leaves a failed worker "failed".
 */
import { Subject, type Subscription } from "rxjs";
import type { Broker, ConsumerSpec } from "../broker/types.js";
import type { WorkerConfig } from "../config/config.js";
import { partitionDurable, partitionFilter } from "../events/partition.js";
import type { Logger } from "../log/logger.js";
import { compileStages } from "../pipeline/compile.js";
import { type Claimed, newJob } from "../pipeline/job.js";
import { maxDeliveriesGuard } from "../pipeline/max-deliveries.js";
import type { CompiledPipeline } from "../pipeline/pipeline.js";
import { type Settled, settle } from "../pipeline/settle.js";

/** The longest pause between failed pulls, ms. */
const MAX_PULL_BACKOFF_MS = 30_000;
/**
 * How long a pull waits when the worker has fewer slots than partitions, ms:
 * a pull on an empty partition holds a slot only this long before the next
 * partition gets its turn.
 */
const ROTATE_MS = 250;

export type WorkerState = "idle" | "running" | "draining" | "stopped" | "failed";

/** The durable consumer of partition `p` that every worker shares: one claimed event at a time. */
export function partitionConsumer(
  stream: string,
  eventPrefix: string,
  config: WorkerConfig,
  p: number,
): ConsumerSpec {
  return {
    stream,
    durable: partitionDurable(config.durable, p),
    filterSubject: partitionFilter(eventPrefix, p),
    ackWaitMs: config.ackWaitMs,
    maxDeliver: config.maxDeliver > 0 ? config.maxDeliver + 1 : config.maxDeliver,
    maxAckPending: 1,
  };
}

export interface WorkerOptions {
  broker: Broker;
  stream: string;
  /** The events subject prefix ("realer.events"). */
  eventPrefix: string;
  /** Partitions of the events stream; producers use the same number. */
  partitions: number;
  deadLetterPrefix: string;
  config: WorkerConfig;
  pipeline: CompiledPipeline;
  log: Logger;
  /** Called for every settled event (tests and metrics). */
  onSettled?: (s: Settled) => void;
}

export interface WorkerCounts {
  claimed: number;
  acked: number;
  retried: number;
  dead: number;
}

export class Worker {
  readonly counts: WorkerCounts = { claimed: 0, acked: 0, retried: 0, dead: 0 };
  #state: WorkerState = "idle";
  readonly #o: WorkerOptions;
  readonly #input = new Subject<Claimed>();
  #sub: Subscription | undefined;
  #inFlight = 0;
  #reserved = 0;
  #abort = new AbortController();
  #wake: (() => void) | undefined;
  #loop: Promise<void> | undefined;
  #failures = 0;
  /** Per partition, whether a pull is open for it. */
  #pulling: boolean[] = [];
  /** The partition the next round of pulls starts at (so every one gets its turn). */
  #firstPartition = 0;
  #broken = false;
  #failure: Error | undefined;
  #resolveFatal: ((err: Error) => void) | undefined;
  /** Resolves with the failure when the worker fails (for supervisors that wait on it). */
  readonly fatal: Promise<Error>;

  constructor(o: WorkerOptions) {
    this.#o = o;
    this.fatal = new Promise((resolve) => {
      this.#resolveFatal = resolve;
    });
  }

  get state(): WorkerState {
    return this.#state;
  }

  /** The fatal failure of a "failed" worker. */
  get failure(): Error | undefined {
    return this.#failure;
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  /** Credit held by pulls that are still open (claims asked for, not yet received). */
  get reserved(): number {
    return this.#reserved;
  }

  async start(): Promise<void> {
    if (this.#state !== "idle") return;
    const { broker, stream, config } = this.#o;
    const partitions = Math.max(1, this.#o.partitions);
    // One event of a partition claimed at a time: its next is delivered once it is settled.
    for (let p = 0; p < partitions; p++)
      await broker.ensureConsumer(partitionConsumer(stream, this.#o.eventPrefix, config, p));
    this.#pulling = new Array<boolean>(partitions).fill(false);
    this.#sub = this.#input
      .pipe(
        compileStages([maxDeliveriesGuard(config.maxDeliver)], "claimed"),
        this.#o.pipeline.operator,
        settle({
          broker,
          deadLetterPrefix: this.#o.deadLetterPrefix,
          maxDeliver: config.maxDeliver,
          retryDelayMs: config.retryDelayMs,
          maxRetryDelayMs: config.maxRetryDelayMs,
          log: this.#o.log,
          ackDelayMs: config.ackDelayMs,
          ackBatch: Math.max(1, Math.floor(config.maxInFlight / 8)),
          writes: this.#o.pipeline.writes,
        }),
      )
      .subscribe({
        next: (s) => this.#settled(s),
        error: (err: Error) => {
          // Jobs inside a broken pipeline never settle: their claims run out
          // and other workers get them. Draining must not wait for them.
          this.#broken = true;
          this.#o.log.error({ err }, "pipeline failed");
          this.#fail(err);
        },
      });
    this.#state = "running";
    this.#loop = this.#pullLoop();
  }

  /** Stops pulling, settles everything in flight, then resolves. */
  async stop(): Promise<void> {
    if (this.#state === "idle" || this.#state === "stopped") {
      this.#state = "stopped";
      return;
    }
    if (this.#state === "running") this.#state = "draining";
    this.#abort.abort();
    this.#notify();
    await this.#loop;
    while ((this.#inFlight > 0 && !this.#broken) || this.#reserved > 0) await this.#nextChange();
    this.#input.complete();
    this.#sub?.unsubscribe();
    if (!this.#failure) this.#state = "stopped";
  }

  /** The first fatal failure: no more pulls; what is in flight still settles. */
  #fail(err: Error): void {
    if (this.#failure) return;
    this.#failure = err;
    this.#state = "failed";
    this.#abort.abort();
    this.#notify();
    this.#resolveFatal?.(err);
  }

  #settled(s: Settled): void {
    this.#inFlight--;
    switch (s.outcome) {
      case "acked":
        this.counts.acked++;
        break;
      case "retried":
        this.counts.retried++;
        break;
      case "dead":
        this.counts.dead++;
        break;
      case "fatal":
        if (s.job.failure) this.#fail(s.job.failure.error);
        break;
    }
    this.#o.onSettled?.(s);
    this.#notify();
  }

  #notify(): void {
    const w = this.#wake;
    this.#wake = undefined;
    w?.();
  }

  #nextChange(): Promise<void> {
    return new Promise((resolve) => {
      const prev = this.#wake;
      this.#wake = () => {
        prev?.();
        resolve();
      };
    });
  }

  async #pullLoop(): Promise<void> {
    const max = this.#o.config.maxInFlight;
    const n = this.#pulling.length;
    while (this.#state === "running") {
      // A pull for every partition without one, while credit lasts.
      for (let i = 0; i < n && max - this.#inFlight - this.#reserved > 0; i++) {
        const p = (this.#firstPartition + i) % n;
        if (!this.#pulling[p]) this.#pullPartition(p);
      }
      this.#firstPartition = (this.#firstPartition + 1) % n;
      await this.#nextChange();
    }
  }

  #pause(ms: number): Promise<void> {
    const signal = this.#abort.signal;
    if (signal.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(t);
        signal.removeEventListener("abort", done);
        resolve();
      };
      const t = setTimeout(done, ms);
      signal.addEventListener("abort", done, { once: true });
    });
  }

  /** Pull failures in a row; 0 after a pull that worked. */
  get pullFailures(): number {
    return this.#failures;
  }

  /** Pulls partition `p`'s next event (its consumer has at most one claimed). */
  #pullPartition(p: number): void {
    const n = 1;
    this.#pulling[p] = true;
    this.#reserved += n;
    const { broker, stream, config, log } = this.#o;
    const durable = partitionDurable(config.durable, p);
    void (async () => {
      let got = 0;
      try {
        // No abort signal: a pull cut short can lose messages the server has
        // already sent (claimed, never seen, redelivered only after the ack
        // wait). Draining lets each open pull end on its own, within
        // `fetchExpiresMs`, and processes what it brings.
        // `each`: deliveries are handed over as they arrive, with no promise
        // per delivery; the jobs of one burst start together.
        const expiresMs =
          this.#pulling.length > config.maxInFlight
            ? Math.min(ROTATE_MS, config.fetchExpiresMs)
            : config.fetchExpiresMs;
        await broker.fetch(stream, durable, { max: n, expiresMs }).each((d) => {
          got++;
          this.#failures = 0;
          this.#reserved--;
          this.#inFlight++;
          this.counts.claimed++;
          this.#input.next(newJob(d));
        });
      } catch (err) {
        // Supervision: a failed pull restarts with a doubling delay, capped;
        // the pause ends early when the worker drains.
        this.#failures++;
        const delay = Math.min(MAX_PULL_BACKOFF_MS, 100 * 2 ** Math.min(this.#failures, 9));
        log.warn({ err, delayMs: delay, failures: this.#failures }, "pull failed; retrying");
        await this.#pause(delay);
      } finally {
        this.#reserved -= n - got;
        this.#pulling[p] = false;
        this.#notify();
      }
    })();
  }
}
