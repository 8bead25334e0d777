/**
 * The worker actor: claims events from the shared durable consumer, runs them
 * through the pipeline and settles each. It holds at most `maxInFlight`
 * unsettled events: it pulls more only when a slot frees (pulling straight
 * from an iterator into mergeMap would not bound it).
 *
 * The consumer allows `maxDeliver + 1` deliveries: the extra one only reaches
 * a worker when no ordinary attempt settled the event (its worker died), and
 * the attempts stage dead-letters it at once (pipeline/attempts.ts).
 *
 * Supervision: a stage that throws fails only its job (stage.ts); a pull that
 * fails is retried with a doubling delay, capped at 30 s; an Rx error in the
 * pipeline (an infrastructure bug) or a fatal failure resolves `fatal`, and
 * the process stops. Lifecycle: "idle" -> "running" -> "draining" ->
 * "stopped". Draining stops pulling and settles everything in flight before
 * `stop()` resolves; open pulls end on their own first (within `fetchExpiresMs`).
 */
import { type OperatorFunction, Subject, type Subscription } from "rxjs";
import type { Broker } from "../broker/types.js";
import type { WorkerConfig } from "../config/config.js";
import type { Logger } from "../log/logger.js";
import { attempts } from "../pipeline/attempts.js";
import { type Settled, settle } from "../pipeline/settle.js";
import { type Job, newJob } from "../pipeline/types.js";

/** The longest pause between failed pulls, ms. */
const MAX_PULL_BACKOFF_MS = 30_000;

export type WorkerState = "idle" | "running" | "draining" | "stopped";

export interface WorkerOptions {
  broker: Broker;
  stream: string;
  deadLetterPrefix: string;
  config: WorkerConfig;
  pipeline: OperatorFunction<Job, Job>;
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
  readonly #input = new Subject<Job>();
  #sub: Subscription | undefined;
  #inFlight = 0;
  #reserved = 0;
  #abort = new AbortController();
  #wake: (() => void) | undefined;
  #loop: Promise<void> | undefined;
  #failures = 0;
  #broken = false;
  #fatal: ((err: Error) => void) | undefined;
  readonly fatal: Promise<Error>;

  constructor(o: WorkerOptions) {
    this.#o = o;
    this.fatal = new Promise((resolve) => {
      this.#fatal = resolve;
    });
  }

  get state(): WorkerState {
    return this.#state;
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
    await broker.ensureConsumer({
      stream,
      durable: config.durable,
      ackWaitMs: config.ackWaitMs,
      maxDeliver: config.maxDeliver > 0 ? config.maxDeliver + 1 : config.maxDeliver,
      maxAckPending: config.maxAckPending,
    });
    this.#sub = this.#input
      .pipe(
        attempts(config.maxDeliver),
        this.#o.pipeline,
        settle({
          broker,
          deadLetterPrefix: this.#o.deadLetterPrefix,
          maxDeliver: config.maxDeliver,
          retryDelayMs: config.retryDelayMs,
          maxRetryDelayMs: config.maxRetryDelayMs,
          log: this.#o.log,
          ackDelayMs: config.ackDelayMs,
          ackBatch: Math.max(1, Math.floor(config.maxInFlight / 8)),
        }),
      )
      .subscribe({
        next: (s) => this.#settled(s),
        error: (err: Error) => {
          // Jobs inside a broken pipeline never settle: their claims run out
          // and other workers get them. Draining must not wait for them.
          this.#broken = true;
          this.#notify();
          this.#o.log.error({ err }, "pipeline failed");
          this.#fatal?.(err);
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
    this.#state = "draining";
    this.#abort.abort();
    this.#notify();
    await this.#loop;
    while ((this.#inFlight > 0 && !this.#broken) || this.#reserved > 0) await this.#changed();
    this.#input.complete();
    this.#sub?.unsubscribe();
    this.#state = "stopped";
  }

  #settled(s: Settled): void {
    this.#inFlight--;
    if (s.outcome === "acked") this.counts.acked++;
    else if (s.outcome === "retried") this.counts.retried++;
    else if (s.outcome === "dead") this.counts.dead++;
    else this.#fatal?.(s.job.failure!.error);
    this.#o.onSettled?.(s);
    this.#notify();
  }

  #notify(): void {
    const w = this.#wake;
    this.#wake = undefined;
    w?.();
  }

  #changed(): Promise<void> {
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
    const threshold = Math.max(1, Math.floor(max / 4));
    while (this.#state === "running") {
      const free = max - this.#inFlight - this.#reserved;
      // Pull in batches of at least a quarter of the credit: pulling whenever
      // one slot frees costs a pull request per event. An idle worker pulls
      // for whatever it has free.
      if (free >= threshold || (free > 0 && this.#inFlight === 0 && this.#reserved === 0)) this.#launch(free);
      await this.#changed();
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

  #launch(n: number): void {
    this.#reserved += n;
    const { broker, stream, config, log } = this.#o;
    void (async () => {
      let got = 0;
      try {
        // No abort signal: a pull cut short can lose messages the server has
        // already sent (claimed, never seen, redelivered only after the ack
        // wait). Draining lets each open pull end on its own, within
        // `fetchExpiresMs`, and processes what it brings.
        // `each`: deliveries are handed over as they arrive, with no promise
        // per delivery; the jobs of one burst start together.
        await broker.fetch(stream, config.durable, { max: n, expiresMs: config.fetchExpiresMs }).each((d) => {
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
        this.#notify();
      }
    })();
  }
}
