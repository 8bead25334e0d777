/**
 * The only place that acks, naks or terms. An event is acked only after every
 * output is stored (the publish stage has finished when a job gets here).
 * A failure is retried with a doubling delay until the consumer's last
 * delivery, then dead-lettered; a drop is dead-lettered at once. A dead letter
 * is stored before the event is terminated, so nothing is lost between them.
 */
import { mergeMap, type OperatorFunction } from "rxjs";
import type { Broker } from "../broker/types.js";
import type { Logger } from "../log/logger.js";
import type { Job } from "./types.js";

export type Outcome = "acked" | "retried" | "dead" | "fatal";

export interface Settled {
  job: Job;
  outcome: Outcome;
}

export interface SettleOptions {
  broker: Broker;
  /** Dead letters go to `<deadLetterPrefix>.<event type or "unknown">`. */
  deadLetterPrefix: string;
  maxDeliver: number;
  retryDelayMs: number;
  maxRetryDelayMs: number;
  log: Logger;
}

export function retryDelay(attempt: number, base: number, max: number): number {
  return Math.min(max, base * 2 ** Math.max(0, attempt - 1));
}

async function deadLetter(job: Job, opts: SettleOptions, reason: string): Promise<void> {
  const d = job.delivery;
  const type = job.event?.type || "unknown";
  const headers: Record<string, string> = {
    ...(job.event?.headers ?? {}),
    "Realer-Reason": reason.slice(0, 512),
    "Realer-Stage": job.failure?.stage ?? "settle",
    "Realer-Code": (job.failure?.error as { code?: string } | undefined)?.code ?? "",
    "Realer-Attempts": String(d.deliveryCount),
    "Realer-Source-Subject": d.subject,
    "Realer-Source-Seq": String(d.seq),
  };
  if (job.event?.id) headers["Realer-Event-Id"] = job.event.id;
  await opts.broker.publish(`${opts.deadLetterPrefix}.${type.replace(/[^A-Za-z0-9_-]/g, "_")}`, d.data, {
    msgId: `dlq:${d.subject}:${d.seq}`,
    headers,
  });
}

export function settle(opts: SettleOptions): OperatorFunction<Job, Settled> {
  return mergeMap(async (job): Promise<Settled> => {
    const d = job.delivery;
    const f = job.failure;
    if (!f) {
      d.ack();
      return { job, outcome: "acked" };
    }
    const ctx = { seq: d.seq, attempt: d.deliveryCount, stage: f.stage, code: (f.error as { code?: string }).code };
    if (f.disposition === "fatal") {
      d.nak();
      opts.log.error({ ...ctx, err: f.error }, "fatal failure: the worker stops");
      return { job, outcome: "fatal" };
    }
    const lastAttempt = opts.maxDeliver > 0 && d.deliveryCount >= opts.maxDeliver;
    if (f.disposition === "retry" && !lastAttempt) {
      const delay = retryDelay(d.deliveryCount, opts.retryDelayMs, opts.maxRetryDelayMs);
      d.nak(delay);
      opts.log.warn({ ...ctx, delayMs: delay, err: f.error }, "event failed; retrying");
      return { job, outcome: "retried" };
    }
    try {
      await deadLetter(job, opts, f.error.message);
    } catch (err) {
      d.nak(opts.retryDelayMs);
      opts.log.error({ ...ctx, err }, "dead-letter publish failed; retrying the event");
      return { job, outcome: "retried" };
    }
    d.term();
    opts.log.warn({ ...ctx, reason: f.error.message }, "event dead-lettered");
    return { job, outcome: "dead" };
  }, Number.POSITIVE_INFINITY);
}
