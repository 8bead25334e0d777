/**
 * Replays: re-render a range of the events stream through the current
 * handlers and publish the results to their channels (after a formatter
 * fix), or resend a range of one channel's messages to its subscribers.
 *
 * Contracts:
 * - Messages are handled one at a time in stream order, so each channel
 *   receives its replayed messages in the order of the original events.
 * - Every replayed channel message carries the dedupe id
 *   `${event.id}:${channel}:replay:${replayId}` (channel mode:
 *   `resend:${replayId}:${seq}`): distinct from the worker's
 *   `${event.id}:${channel}` so it is not suppressed as a duplicate, and the
 *   same on a resume so a batch redone after a crash stores nothing twice.
 * - The checkpoint (`next`) is saved every `checkpointEvery` messages and
 *   whenever the replay stops; a resume starts at `next`.
 */

import type { AdminBroker } from "../broker/types.js";
import type { RealerConfig } from "../config/config.js";
import { ChannelInvalid, ReplayRangeInvalid } from "../errors.js";
import { channelSubject, isValidChannel } from "../events/channel.js";
import { decodeEnvelope, decodePayload, type Event } from "../events/envelope.js";
import { eventTypeFilter } from "../events/partition.js";
import type { EventRegistry } from "../events/registry.js";
import type { Logger } from "../log/logger.js";
import type { Handler, Output } from "../pipeline/handler.js";
import { Renderer } from "../pipeline/render.js";
import { storeOutput } from "../pipeline/store-output.js";
import { type CheckpointStore, newReplayId } from "./checkpoint.js";
import { Pacer } from "./pacer.js";
import { Progress, type ProgressSink } from "./progress.js";
import { resolveRange } from "./range.js";
import { emptyCounts, type ReplayCheckpoint, type ReplayRequest } from "./types.js";

export interface ReplayContext {
  broker: AdminBroker;
  cfg: RealerConfig;
  registry: EventRegistry;
  handlers: ReadonlyMap<string, Handler>;
  checkpoints: CheckpointStore;
  log: Logger;
  /** Where the progress line goes; none: no progress output. */
  progress?: ProgressSink;
  progressIntervalMs?: number;
  /** Stops the replay after the message in hand; the checkpoint is saved. */
  signal?: AbortSignal;
  /** Messages between checkpoint saves. Default 100. */
  checkpointEvery?: number;
  /** Called after every handled message (admin page, tests). */
  onProgress?: (cp: ReplayCheckpoint) => void;
}

/** The stream and subject filter a request reads. */
export function sourceOf(
  cfg: RealerConfig,
  req: ReplayRequest,
): { stream: string; subject: string | undefined } {
  if (req.mode === "channel")
    return {
      stream: cfg.streams.channels.name,
      subject: channelSubject(cfg.subjects.channels, req.channel!),
    };
  return {
    stream: cfg.streams.events.name,
    subject: req.type ? eventTypeFilter(cfg.subjects.events, req.type) : undefined,
  };
}

/** Checks a request and resolves its range; nothing is published. */
export async function planReplay(ctx: ReplayContext, req: ReplayRequest): Promise<ReplayCheckpoint> {
  if (req.mode === "channel" && (!req.channel || !isValidChannel(req.channel)))
    throw new ChannelInvalid(JSON.stringify(req.channel ?? ""));
  if (req.mode === "events" && req.type) ctx.registry.get(req.type);
  if (req.rate !== undefined && !(req.rate >= 0)) throw new ReplayRangeInvalid("rate must be a number >= 0");
  const { from, to } = await resolveRange(ctx.broker, sourceOf(ctx.cfg, req).stream, req);
  const now = Date.now();
  return {
    id: newReplayId(now),
    request: req,
    from,
    to,
    next: from,
    status: "running",
    counts: emptyCounts(),
    startedAt: now,
    updatedAt: now,
  };
}

export async function replay(ctx: ReplayContext, req: ReplayRequest): Promise<ReplayCheckpoint> {
  const cp = await planReplay(ctx, req);
  await ctx.checkpoints.save(cp);
  return run(ctx, cp);
}

/** Continues a stopped or crashed replay from its checkpoint; a finished one is returned as is. */
export async function resume(ctx: ReplayContext, id: string): Promise<ReplayCheckpoint> {
  const cp = await ctx.checkpoints.load(id);
  if (cp.status === "done") return cp;
  return run(ctx, { ...cp, status: "running" });
}

export async function run(ctx: ReplayContext, cp: ReplayCheckpoint): Promise<ReplayCheckpoint> {
  const { broker, cfg, signal } = ctx;
  const req = cp.request;
  const { stream, subject } = sourceOf(cfg, req);
  const log = ctx.log.child({ replay: cp.id });
  const pacer = new Pacer(req.rate ?? 0);
  const renderer = new Renderer(ctx.handlers);
  const every = ctx.checkpointEvery ?? 100;
  const progress = ctx.progress
    ? new Progress(`replay ${cp.id}`, cp.to - cp.from + 1, ctx.progress, {
        base: cp.next - cp.from,
        ...(ctx.progressIntervalMs !== undefined ? { intervalMs: ctx.progressIntervalMs } : {}),
      })
    : undefined;
  let unsaved = 0;
  log.info(
    { from: cp.next, to: cp.to, request: req },
    cp.next === cp.from ? "replay started" : "replay resumed",
  );
  try {
    if (cp.next <= cp.to && !signal?.aborted) {
      for await (const m of broker.read(stream, {
        ...(subject ? { subject } : {}),
        fromSeq: cp.next,
        toSeq: cp.to,
      })) {
        if (signal?.aborted) break;
        cp.counts.scanned++;
        if (req.mode === "channel") {
          await pacer.next(signal);
          cp.counts.matched++;
          const ack = await broker.publish(m.subject, m.data, {
            msgId: `resend:${cp.id}:${m.seq}`,
            headers: { ...m.headers, "Realer-Replay": cp.id },
          });
          cp.counts[ack.duplicate ? "duplicates" : "published"]++;
        } else {
          await replayEvent(ctx, renderer, cp, m.data, m.seq, pacer, log);
        }
        cp.next = m.seq + 1;
        cp.updatedAt = Date.now();
        progress?.update(cp.next - cp.from);
        ctx.onProgress?.(cp);
        if (++unsaved >= every) {
          unsaved = 0;
          await ctx.checkpoints.save(cp);
        }
      }
    }
    if (!signal?.aborted) {
      cp.next = cp.to + 1;
      cp.status = "done";
    } else cp.status = "stopped";
  } catch (err) {
    cp.status = "stopped";
    log.error({ err, next: cp.next }, "replay failed; resume it to go on");
    throw err;
  } finally {
    cp.updatedAt = Date.now();
    progress?.finish(cp.next - cp.from);
    await ctx.checkpoints.save(cp);
    log.info({ next: cp.next, status: cp.status, counts: cp.counts }, "replay checkpoint saved");
  }
  return cp;
}

async function replayEvent(
  ctx: ReplayContext,
  renderer: Renderer,
  cp: ReplayCheckpoint,
  data: Uint8Array,
  seq: number,
  pacer: Pacer,
  log: Logger,
): Promise<void> {
  let event: Event;
  let outputs: Output[];
  try {
    event = decodeEnvelope(data);
    if (cp.request.key !== undefined && event.key !== cp.request.key) return;
    await pacer.next(ctx.signal);
    cp.counts.matched++;
    outputs = renderer.outputs(event, decodePayload(ctx.registry, event));
  } catch (err) {
    cp.counts.failed++;
    log.warn({ err, seq }, "event could not be rendered; skipped");
    return;
  }
  const acks = await Promise.all(
    outputs.map((o) =>
      storeOutput(ctx.broker, ctx.cfg.subjects.channels, event, o, {
        dedupeSuffix: `:replay:${cp.id}`,
        headers: { "Realer-Replay": cp.id, "Realer-Trace-Id": event.traceId },
      }),
    ),
  );
  for (const a of acks) cp.counts[a.duplicate ? "duplicates" : "published"]++;
}
