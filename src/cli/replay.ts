/** `realer replay`: re-render a range of events after a formatter fix, or resend a channel's history. */
import type { Command } from "commander";
import { CheckpointStore } from "../replay/checkpoint.js";
import { dryRun, formatDryRun } from "../replay/dry-run.js";
import { type ReplayContext, replay, resume } from "../replay/replayer.js";
import type { ReplayCheckpoint, ReplayRequest } from "../replay/types.js";
import { loadDomain } from "./components.js";
import { intOption, type OpsContext, timeOption, withOps } from "./ops-context.js";
import { configFrom, natsOption, usage } from "./options.js";

interface ReplayFlags {
  from?: string;
  to?: string;
  since?: string;
  until?: string;
  type?: string;
  key?: string;
  channel?: string;
  rate?: string;
  dryRun?: boolean;
  all?: boolean;
  resume?: string;
  list?: boolean;
  json?: boolean;
  progress?: boolean;
}

export function requestOf(f: ReplayFlags): ReplayRequest {
  if (f.channel && (f.type || f.key))
    usage("--channel resends a channel's messages: --type and --key apply to events only");
  const req: ReplayRequest = { mode: f.channel ? "channel" : "events" };
  const from = intOption("--from", f.from, 1);
  const to = intOption("--to", f.to, 1);
  const since = timeOption("--since", f.since);
  const until = timeOption("--until", f.until);
  const rate = intOption("--rate", f.rate, 0);
  if (from !== undefined) req.fromSeq = from;
  if (to !== undefined) req.toSeq = to;
  if (since !== undefined) req.since = since;
  if (until !== undefined) req.until = until;
  if (rate !== undefined) req.rate = rate;
  if (f.type) req.type = f.type;
  if (f.key) req.key = f.key;
  if (f.channel) req.channel = f.channel;
  return req;
}

export function replayContext(o: OpsContext, extra: Partial<ReplayContext> = {}): ReplayContext {
  const domain = loadDomain();
  return {
    broker: o.broker,
    cfg: o.cfg,
    registry: domain.registry,
    handlers: domain.handlers,
    checkpoints: new CheckpointStore(o.broker, o.cfg.nats ? "file" : "memory", o.cfg.streams.events.replicas),
    log: o.log,
    ...extra,
  };
}

const summary = (cp: ReplayCheckpoint) =>
  `replay ${cp.id} ${cp.status}: ${cp.from}..${cp.to} next ${cp.next}; scanned ${cp.counts.scanned}, matched ${cp.counts.matched}, ` +
  `published ${cp.counts.published}, duplicates ${cp.counts.duplicates}, failed ${cp.counts.failed}`;

export function registerReplay(program: Command): void {
  program
    .command("replay")
    .description(
      "re-render a range of the events stream through the current handlers, or resend a channel's history",
    )
    .addOption(natsOption())
    .option("--from <seq>", "first sequence (default: the first stored)")
    .option("--to <seq>", "last sequence (default: the last stored)")
    .option("--since <time>", "start at this time (ISO date or Unix ms) instead of --from")
    .option("--until <time>", "end before this time instead of --to")
    .option("--type <type>", "only events of this type")
    .option("--key <key>", "only events with this ordering key")
    .option("--channel <channel>", "resend this channel's stored messages (sequences of the channel stream)")
    .option("--rate <n>", "at most n events per second, so live traffic keeps flowing (0: no limit)", "500")
    .option("--dry-run", "print what would be published next to what was (a diff); publish nothing")
    .option("--all", "dry run: also print outputs that would not change")
    .option("--resume <id>", "continue an interrupted replay from its checkpoint")
    .option("--list", "list replays and their checkpoints")
    .option("--json", "machine-readable output")
    .option("--no-progress", "no progress line on stderr")
    .action(async (flags: ReplayFlags & { nats?: string }) => {
      const cfg = configFrom(flags);
      await withOps(cfg, "replay", async (o) => {
        const ac = new AbortController();
        const stop = () => ac.abort();
        process.once("SIGINT", stop);
        process.once("SIGTERM", stop);
        const ctx = replayContext(o, {
          signal: ac.signal,
          ...(flags.progress !== false && !flags.json ? { progress: process.stderr } : {}),
        });
        try {
          if (flags.list) {
            const all = await ctx.checkpoints.list();
            process.stdout.write(
              flags.json ? `${JSON.stringify(all)}\n` : `${all.map(summary).join("\n") || "no replays"}\n`,
            );
            return;
          }
          if (flags.dryRun) {
            const d = await dryRun(ctx, requestOf(flags));
            process.stdout.write(
              flags.json ? `${JSON.stringify(d)}\n` : formatDryRun(d, { all: flags.all ?? false }),
            );
            return;
          }
          const cp = flags.resume ? await resume(ctx, flags.resume) : await replay(ctx, requestOf(flags));
          process.stdout.write(flags.json ? `${JSON.stringify(cp)}\n` : `${summary(cp)}\n`);
          if (cp.status === "stopped") process.stdout.write(`resume with: realer replay --resume ${cp.id}\n`);
        } finally {
          process.off("SIGINT", stop);
          process.off("SIGTERM", stop);
        }
      });
    });
}
