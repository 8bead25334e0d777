/** `realer publish`: one event from the shell, over NATS or through an edge's HTTP ingest. */

import { randomUUID } from "node:crypto";
import { type Command, Option } from "commander";
import type { RealerConfig } from "../config/config.js";
import { CommentCreated } from "../demo/comments.js";
import { checkHeaders } from "../events/envelope-rules.js";
import { createProducer, ensureStreams, loadDomain } from "./components.js";
import { configFrom, natsOption, usage } from "./options.js";
import { openBroker } from "./wiring.js";

export interface PublishArgs {
  url?: string;
  key?: string;
  data?: string;
  id?: string;
  apiKey?: string;
  thread: string;
  author: string;
  text: string;
  /** `Name: value` pairs (--header, repeatable). */
  header?: string[];
}

/** The --header pairs as headers, refused as the SDK and the ingest refuse them (REALER_ERR_HEADER_INVALID, exit 1). */
function headersOf(pairs: string[] | undefined): Record<string, string> | undefined {
  if (!pairs?.length) return undefined;
  const headers: Record<string, string> = {};
  for (const p of pairs) {
    const i = p.indexOf(":");
    if (i < 0) usage(`--header ${JSON.stringify(p)}: expected Name: value`);
    headers[p.slice(0, i).trim()] = p.slice(i + 1).trimStart();
  }
  checkHeaders(headers);
  return headers;
}

function eventOf(type: string, a: PublishArgs): { type: string; key: string; data: Record<string, unknown> } {
  if (type === "comment") {
    return {
      type: CommentCreated.name,
      key: a.key ?? `thread:${a.thread}`,
      data: {
        comment: {
          id: randomUUID(),
          threadId: a.thread,
          author: a.author,
          text: a.text,
          createdAt: Date.now(),
        },
      },
    };
  }
  if (!a.key) usage("--key is required for an event type other than comment");
  if (!a.data) usage("--data is required for an event type other than comment");
  let data: unknown;
  try {
    data = JSON.parse(a.data);
  } catch (err) {
    usage(`--data is not JSON: ${(err as Error).message}`);
  }
  if (data === null || typeof data !== "object" || Array.isArray(data)) usage("--data must be a JSON object");
  return { type, key: a.key, data: data as Record<string, unknown> };
}

export async function runPublish(cfg: RealerConfig, type: string, a: PublishArgs): Promise<unknown> {
  const e = eventOf(type, a);
  const headers = headersOf(a.header);
  if (a.url) {
    const res = await fetch(new URL("/v1/events", a.url), {
      method: "POST",
      headers: {
        "content-type": "application/json",
        ...(a.apiKey ? { authorization: `Bearer ${a.apiKey}` } : {}),
      },
      body: JSON.stringify({ ...e, ...(a.id ? { id: a.id } : {}), ...(headers ? { headers } : {}) }),
    });
    const body = (await res.json()) as { code?: string; message?: string };
    if (!res.ok) usage(`${body.code ?? res.status}: ${body.message ?? "refused"}`);
    return body;
  }
  const broker = await openBroker(cfg, "realer-publish");
  try {
    await ensureStreams(broker, cfg);
    const domain = loadDomain();
    if (!domain.registry.has(e.type))
      usage(`unknown event type ${e.type}; known: ${domain.registry.names().join(", ")}`);
    const { event, ack } = await createProducer(broker, cfg, domain, "realer-cli").emit(
      e.type,
      e.key,
      e.data,
      {
        ...(a.id ? { id: a.id } : {}),
        ...(headers ? { headers } : {}),
      },
    );
    return { id: event.id, seq: ack.seq, duplicate: ack.duplicate };
  } finally {
    await broker.close();
  }
}

export function registerPublish(program: Command): void {
  program
    .command("publish")
    .description("emit an event from the shell")
    .argument("[type]", 'event type, or "comment" for a demo comment', "comment")
    .addOption(natsOption())
    .option("--url <url>", "an edge's base URL: publish through its HTTP ingest instead of NATS")
    .addOption(
      new Option("--api-key <key>", "with --url: an ingest API key (one of REALER_INGEST_KEYS)").env(
        "REALER_INGEST_KEY",
      ),
    )
    .option("--key <key>", "ordering key (default for comments: thread:<thread>)")
    .option("--data <json>", "the event body as JSON, mapped onto the type's schema")
    .option("--id <id>", "event id (dedupe id); default: a new UUID")
    .option(
      "--header <name:value>",
      "an event header, e.g. --header 'X-Tenant: acme' (repeatable)",
      (v: string, prev: string[] = []) => [...prev, v],
    )
    .option("--thread <id>", "demo comment: thread id", "demo")
    .option("--author <name>", "demo comment: author", "cli")
    .option("--text <text>", "demo comment: text", "hello from the command line")
    .action(async (type: string, opts) => {
      if (!opts.nats && !opts.url) usage("publish needs --nats <url> (or REALER_NATS_URL) or --url <edge>");
      const out = await runPublish(configFrom(opts), type, opts);
      process.stdout.write(`${JSON.stringify(out)}\n`);
    });
}
