/**
 * The only place that acks, naks or terms. An event is acked only after every
 * output is stored (the publish stage has finished when a job gets here); a
 * skipped job (filtered, duplicate) is acked with no output. A failure is
 * retried with a doubling delay until the last ordinary delivery
 * (`maxDeliver`), then dead-lettered; a drop is dead-lettered at once. A dead
 * letter is stored before the event is terminated, so nothing is lost between
 * them; a second dead letter of the same delivery is suppressed by its dedupe id.
 */
import { Observable, type OperatorFunction } from "rxjs";
import { carryHeaders, headerValue } from "../broker/headers.js";
import type { Broker } from "../broker/types.js";
import { codeOf } from "../errors.js";
import type { Logger } from "../log/logger.js";
import { countSettled, type SettleOutcome } from "../metrics/ledger.js";
import type { Failed, Job } from "./job.js";
import type { TurnWrites } from "./turn-writes.js";

export interface Settled {
  job: Job;
  outcome: SettleOutcome;
}

export interface SettleOptions {
  broker: Broker;
  /** Dead letters go to `<deadLetterPrefix>.<event type or "unknown">`. */
  deadLetterPrefix: string;
  /** Ordinary deliveries: a failure on this one is dead-lettered instead of retried. */
  maxDeliver: number;
  retryDelayMs: number;
  maxRetryDelayMs: number;
  log: Logger;
  /**
   * The longest an ack waits to be sent with others, ms. Default 0: acks go
   * at the end of the event-loop turn in which the jobs settled.
   */
  ackDelayMs?: number;
  /** Acks sent at the end of the turn in which this many have gathered. Default 32. */
  ackBatch?: number;
  /** The pipeline's publishes (its `writes`): held-back acks go out in the same socket write as the next ones. */
  writes: TurnWrites;
}

/** The nak delay after failed attempt `attempt` (1-based): base, 2x base, 4x base ... capped at `max`. */
export function retryDelay(attempt: number, base: number, max: number): number {
  return Math.min(max, base * 2 ** Math.max(0, attempt - 1));
}

/** Bytes of the original message's and the event's headers a dead letter carries at most. */
export const DEAD_LETTER_HEADER_BYTES = 8192;
/** A header copied to a dead letter that NATS would refuse (or reserved) is kept encoded under this prefix. */
export const ENCODED_HEADER_PREFIX = "Realer-Header-";

/**
 * The headers of a dead letter: the original message's headers and the
 * event's own, then why it died: Realer-Reason, Realer-Stage, Realer-Code,
 * Realer-Attempts and where it came from. Never a header NATS refuses, so
 * the dead letter's publish cannot fail on what a producer sent: an event's
 * headers come from its bytes, which nothing may have checked (a producer
 * in another language); such a header is kept percent-encoded as
 * `Realer-Header-<name>`, and past DEAD_LETTER_HEADER_BYTES the rest are
 * counted in Realer-Headers-Omitted (the event's bytes hold them all).
 */
export function deadLetterHeaders(job: Job, reason: string): Record<string, string> {
  const d = job.delivery;
  const copied: Record<string, string> = {};
  // The server's own headers (Nats-Msg-Id, Nats-Expected-*) would steer the
  // dead letter's publish; the event id is kept as Realer-Event-Id.
  for (const [k, v] of Object.entries(d.headers)) if (!/^nats-/i.test(k)) copied[k] = v;
  Object.assign(copied, job.event?.headers);
  const { headers, omitted } = carryHeaders(copied, ENCODED_HEADER_PREFIX, DEAD_LETTER_HEADER_BYTES);
  if (omitted > 0) headers["Realer-Headers-Omitted"] = String(omitted);
  Object.assign(headers, {
    // biome-ignore lint/suspicious/noControlCharactersInRegex: a reason quotes what it refused, control characters included
    "Realer-Reason": reason.replace(/[\u0000-\u001f\u007f]+/g, " ").slice(0, 512),
    "Realer-Stage": job.failure?.stage ?? "settle",
    "Realer-Code": codeOf(job.failure?.error) ?? "",
    "Realer-Attempts": String(d.deliveryCount),
    "Realer-Source-Subject": d.subject,
    "Realer-Source-Seq": String(d.seq),
  });
  if (job.event?.id) headers["Realer-Event-Id"] = headerValue(job.event.id);
  return headers;
}

async function deadLetter(job: Job, opts: SettleOptions, reason: string): Promise<void> {
  const d = job.delivery;
  const type = job.event?.type || "unknown";
  await opts.broker.publish(`${opts.deadLetterPrefix}.${type.replace(/[^A-Za-z0-9_-]/g, "_")}`, d.data, {
    msgId: `dlq:${d.subject}:${d.seq}`,
    headers: deadLetterHeaders(job, reason),
  });
}

/** Acks a job that did not fail (a skipped one included): everything it should produce is stored. */
function ackOne(job: Job, opts: SettleOptions, debug: boolean): SettleOutcome {
  const d = job.delivery;
  try {
    d.ack();
  } catch (err) {
    // A closed connection: the claim runs out and the event is delivered again.
    opts.log.error({ err, seq: d.seq }, "settling failed; the event will be redelivered");
    return "retried";
  }
  // One debug line per event, with the producer's trace id, so an operator can follow an event end to end.
  if (debug)
    opts.log.debug({ seq: d.seq, eventId: job.event?.id, traceId: job.event?.traceId }, "event acked");
  return "acked";
}

async function settleFailed(job: Failed, opts: SettleOptions): Promise<SettleOutcome> {
  const d = job.delivery;
  const f = job.failure;
  const ctx = {
    seq: d.seq,
    attempt: d.deliveryCount,
    stage: f.stage,
    code: codeOf(f.error),
    traceId: job.event?.traceId,
  };
  if (f.disposition === "fatal") {
    d.nak();
    opts.log.error({ ...ctx, err: f.error }, "fatal failure: the worker stops");
    return "fatal";
  }
  const lastAttempt = opts.maxDeliver > 0 && d.deliveryCount >= opts.maxDeliver;
  if (f.disposition === "retry" && !lastAttempt) {
    const delay = retryDelay(d.deliveryCount, opts.retryDelayMs, opts.maxRetryDelayMs);
    d.nak(delay);
    opts.log.warn({ ...ctx, delayMs: delay, err: f.error }, "event failed; retrying");
    return "retried";
  }
  try {
    await deadLetter(job, opts, f.error.message);
  } catch (err) {
    d.nak(opts.retryDelayMs);
    opts.log.error({ ...ctx, err }, "dead-letter publish failed; retrying the event");
    return "retried";
  }
  d.term();
  opts.log.warn({ ...ctx, reason: f.error.message }, "event dead-lettered");
  return "dead";
}

/**
 * Settles every job. Jobs to ack (healthy or skipped) are gathered and acked
 * together, and emitted right after their ack is sent (so a draining worker
 * never closes the connection with acks still waiting, and the worker frees
 * their credit only then): the NATS client writes whatever was queued in one
 * burst as one socket write, where acks sent one by one would each cost one.
 * A batch is acked at the end of the turn in which it reaches `ackBatch`
 * jobs, otherwise with the next publishes that start (their socket write
 * carries the acks too), and at the latest `ackDelayMs` after its first job:
 * at a low, steady rate acks would else take a write of their own (and a
 * read in nats-server) every few events. An ack only ever comes later, never
 * before every output is stored. This path makes no promise per job. Failed
 * jobs (nak, dead letter) settle through promises, in any order. The stream
 * completes once the source has and every job has settled.
 */
export function settle(opts: SettleOptions): OperatorFunction<Job, Settled> {
  return (source) =>
    new Observable<Settled>((subscriber) => {
      const delayMs = opts.ackDelayMs ?? 0;
      const ackBatch = delayMs > 0 ? Math.max(1, opts.ackBatch ?? 32) : 1;
      let pending = 0;
      let sourceDone = false;
      let batch: Job[] = [];
      let timer: NodeJS.Timeout | undefined;
      let cancelJoin: (() => void) | undefined;
      let immediate = false;
      const emit = (job: Job, outcome: SettleOutcome) => {
        pending--;
        countSettled(outcome);
        if (subscriber.closed) return;
        subscriber.next({ job, outcome });
        if (sourceDone && pending === 0) subscriber.complete();
      };
      const flush = () => {
        if (timer) clearTimeout(timer);
        timer = undefined;
        cancelJoin?.();
        cancelJoin = undefined;
        immediate = false;
        const b = batch;
        batch = [];
        const debug = opts.log.isLevelEnabled("debug");
        for (const job of b) emit(job, ackOne(job, opts, debug));
      };
      const failedSettled = (job: Job) => (outcome: SettleOutcome) => emit(job, outcome);
      const failedThrew = (job: Job) => (err: unknown) => {
        // A settle call that throws (a closed connection) must not end the stream:
        // the claim runs out and the event is delivered again.
        opts.log.error({ err, seq: job.delivery.seq }, "settling failed; the event will be redelivered");
        emit(job, "retried");
      };
      const subscription = source.subscribe({
        next: (job) => {
          pending++;
          if (!job.failure) {
            batch.push(job);
            if (immediate) return;
            if (batch.length >= ackBatch) {
              immediate = true;
              setImmediate(flush);
            } else if (!timer) {
              timer = setTimeout(flush, delayMs);
              // Or sooner, in the same write as the next publishes (turn-writes.ts).
              cancelJoin = opts.writes.withNextBatch(flush);
            }
            return;
          }
          settleFailed(job, opts).then(failedSettled(job), failedThrew(job));
        },
        error: (err) => subscriber.error(err),
        complete: () => {
          sourceDone = true;
          if (pending === 0) subscriber.complete();
        },
      });
      return () => {
        if (timer) clearTimeout(timer);
        cancelJoin?.();
        subscription.unsubscribe();
      };
    });
}
