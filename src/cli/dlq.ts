/** `realer dlq list | show | redrive | purge`: the dead letters settle stored, and sending them back. */
import type { Command } from "commander";
import { DeadLetters, type DlqFilter } from "../ops/dlq.js";
import { isoTime, table } from "../ops/table.js";
import { loadDomain } from "./components.js";
import { intOption, withOps } from "./ops-context.js";
import { configFrom, natsOption, usage } from "./options.js";

interface DlqFlags {
  nats?: string;
  type?: string;
  all?: boolean;
  json?: boolean;
  limit?: string;
}

function filterOf(seqs: string[], f: DlqFlags, verb: string): DlqFilter {
  const parsed = seqs.map((s) => intOption("sequence", s, 1)!);
  if (parsed.length > 0 && (f.type || f.all)) usage(`${verb}: give sequences, or --type, or --all`);
  if (parsed.length === 0 && !f.type && !f.all) usage(`${verb} needs sequences, --type <type> or --all`);
  if (parsed.length > 0) return { seqs: parsed };
  return f.type ? { type: f.type } : {};
}

const out = (s: string) => process.stdout.write(s.endsWith("\n") ? s : `${s}\n`);

export function registerDlq(program: Command): void {
  const dlq = program.command("dlq").description("dead letters: list, show, redrive, purge");
  const common = (c: Command) => c.addOption(natsOption()).option("--json", "machine-readable output");

  common(dlq.command("list"))
    .description("list dead letters, oldest first")
    .option("--type <type>", "only this event type")
    .option("--limit <n>", "at most n", "100")
    .action(async (f: DlqFlags) => {
      await withOps(configFrom(f), "dlq", async (o) => {
        const rows = await new DeadLetters(o.broker, o.cfg).list(
          f.type ? { type: f.type } : {},
          intOption("--limit", f.limit, 1),
        );
        if (f.json) return out(JSON.stringify(rows));
        if (rows.length === 0) return out("no dead letters");
        out(
          table(
            ["seq", "time", "type", "event id", "stage", "code", "attempts", "reason"],
            rows.map((d) => [
              d.seq,
              isoTime(d.time),
              d.type,
              d.eventId,
              d.stage,
              d.code,
              d.attempts,
              d.reason.slice(0, 60),
            ]),
          ),
        );
      });
    });

  common(dlq.command("show"))
    .description("one dead letter with its headers and decoded event")
    .argument("<seq>", "sequence in the dead-letter stream")
    .action(async (seq: string, f: DlqFlags) => {
      await withOps(configFrom(f), "dlq", async (o) => {
        const d = await new DeadLetters(o.broker, o.cfg).show(
          intOption("sequence", seq, 1)!,
          loadDomain().registry,
        );
        out(JSON.stringify(d, null, f.json ? undefined : 2));
      });
    });

  selection(common(dlq.command("redrive")))
    .description("send dead letters back through the pipeline (after fixing their cause), then remove them")
    .action(async (seqs: string[], f: DlqFlags) => {
      const filter = filterOf(seqs, f, "redrive");
      await withOps(configFrom(f), "dlq", async (o) => {
        const done = await new DeadLetters(o.broker, o.cfg).redrive(filter);
        if (f.json) return out(JSON.stringify(done));
        out(
          done
            .map(
              (r) => `redrove dead letter ${r.dlqSeq} (event ${r.eventId}) to ${r.subject} as seq ${r.seq}`,
            )
            .join("\n") || "nothing to redrive",
        );
      });
    });

  selection(common(dlq.command("purge")))
    .description("delete dead letters")
    .action(async (seqs: string[], f: DlqFlags) => {
      const filter = filterOf(seqs, f, "purge");
      await withOps(configFrom(f), "dlq", async (o) => {
        const n = await new DeadLetters(o.broker, o.cfg).purge(filter);
        out(f.json ? JSON.stringify({ purged: n }) : `purged ${n} dead letter${n === 1 ? "" : "s"}`);
      });
    });
}

/** Which dead letters a command acts on: sequences, a type, or all. */
function selection(cmd: Command): Command {
  return cmd
    .argument("[seqs...]", "sequences in the dead-letter stream")
    .option("--type <type>", "every dead letter of this event type")
    .option("--all", "every dead letter");
}
