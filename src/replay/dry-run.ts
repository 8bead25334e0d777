/**
 * A dry run: what a replay would publish next to what the channels hold now
 * for the same events. Nothing is published and no checkpoint is written.
 */
import { channelSubject } from "../events/channel.js";
import { decodeChannelMessage, decodeEnvelope, decodePayload, type Event } from "../events/envelope.js";
import type { Output } from "../pipeline/handler.js";
import { Renderer } from "../pipeline/render.js";
import { planReplay, type ReplayContext, sourceOf } from "./replayer.js";
import type { ReplayRequest } from "./types.js";

export interface DiffEntry {
  seq: number;
  eventId: string;
  channel: string;
  /** What the channel holds for this event (its latest message), if anything. */
  before: { type: string; data: string } | undefined;
  after: { type: string; data: string };
  change: "changed" | "unchanged" | "new";
}

export interface DryRun {
  from: number;
  to: number;
  events: number;
  failed: number;
  changed: number;
  unchanged: number;
  added: number;
  /** The first `limit` outputs, in stream order. */
  entries: DiffEntry[];
}

export async function dryRun(ctx: ReplayContext, req: ReplayRequest, limit = 100): Promise<DryRun> {
  const cp = await planReplay(ctx, req);
  const out: DryRun = {
    from: cp.from,
    to: cp.to,
    events: 0,
    failed: 0,
    changed: 0,
    unchanged: 0,
    added: 0,
    entries: [],
  };
  if (req.mode !== "events") return out;
  const renderer = new Renderer(ctx.handlers);
  const produced = new Map<string, Promise<Map<string, { type: string; data: string }>>>();
  const { stream, subject } = sourceOf(ctx.cfg, req);
  for await (const m of ctx.broker.read(stream, {
    ...(subject ? { subject } : {}),
    fromSeq: cp.from,
    toSeq: cp.to,
  })) {
    let event: Event;
    let outputs: Output[];
    try {
      event = decodeEnvelope(m.data);
      if (req.key !== undefined && event.key !== req.key) continue;
      out.events++;
      outputs = renderer.outputs(event, decodePayload(ctx.registry, event));
    } catch {
      out.failed++;
      continue;
    }
    for (const o of outputs) {
      let held = produced.get(o.channel);
      if (!held) {
        held = channelHistory(ctx, o.channel);
        produced.set(o.channel, held);
      }
      const before = (await held).get(event.id);
      const after = { type: o.type, data: o.data };
      const change = !before
        ? "new"
        : before.type === after.type && before.data === after.data
          ? "unchanged"
          : "changed";
      out[change === "new" ? "added" : change]++;
      if (out.entries.length < limit)
        out.entries.push({ seq: m.seq, eventId: event.id, channel: o.channel, before, after, change });
    }
  }
  return out;
}

/** The latest message per event id that a channel holds. */
async function channelHistory(
  ctx: ReplayContext,
  channel: string,
): Promise<Map<string, { type: string; data: string }>> {
  const stream = ctx.cfg.streams.channels.name;
  const map = new Map<string, { type: string; data: string }>();
  const { firstSeq, messages } = await ctx.broker.streamState(stream);
  if (messages === 0) return map;
  for await (const m of ctx.broker.read(stream, {
    subject: channelSubject(ctx.cfg.subjects.channels, channel),
    fromSeq: firstSeq,
  })) {
    try {
      const cm = decodeChannelMessage(m.data);
      map.set(cm.eventId, { type: cm.type, data: cm.data });
    } catch {
      // An undecodable message has nothing to compare against.
    }
  }
  return map;
}

/** The dry run as text: one block per output that would change, then totals. */
export function formatDryRun(d: DryRun, opts: { all?: boolean } = {}): string {
  const lines: string[] = [];
  for (const e of d.entries) {
    if (e.change === "unchanged" && !opts.all) continue;
    lines.push(`seq ${e.seq}  ${e.channel}  event ${e.eventId}  ${e.change}`);
    if (e.before) lines.push(`  - ${e.before.type} ${e.before.data}`);
    lines.push(`  + ${e.after.type} ${e.after.data}`);
  }
  lines.push(
    `dry run ${d.from}..${d.to}: ${d.events} events, ${d.changed} outputs changed, ${d.unchanged} unchanged, ${d.added} new, ${d.failed} failed to render`,
  );
  return `${lines.join("\n")}\n`;
}
