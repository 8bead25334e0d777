/** `realer publish`: one event from the shell, over NATS or through an edge's HTTP ingest. */
import { CommanderError } from "commander";
import type { RealerConfig } from "../config/config.js";
import { CommentCreated } from "../demo/comments.js";
import { createProducer, ensureStreams, loadDomain, openBroker } from "./wiring.js";
import { randomUUID } from "node:crypto";

export interface PublishArgs {
  url?: string;
  key?: string;
  data?: string;
  id?: string;
  thread: string;
  author: string;
  text: string;
}

function usage(message: string): never {
  throw new CommanderError(2, "REALER_ERR_CLI_USAGE", message);
}

function eventOf(type: string, a: PublishArgs): { type: string; key: string; data: Record<string, unknown> } {
  if (type === "comment") {
    return {
      type: CommentCreated.name,
      key: a.key ?? `thread:${a.thread}`,
      data: { comment: { id: randomUUID(), threadId: a.thread, author: a.author, text: a.text, createdAt: Date.now() } },
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
  if (a.url) {
    const res = await fetch(new URL("/v1/events", a.url), {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ ...e, ...(a.id ? { id: a.id } : {}) }),
    });
    const body = (await res.json()) as { code?: string; message?: string };
    if (!res.ok) usage(`${body.code ?? res.status}: ${body.message ?? "refused"}`);
    return body;
  }
  const broker = await openBroker(cfg, "realer-publish");
  try {
    await ensureStreams(broker, cfg);
    const domain = loadDomain();
    if (!domain.registry.has(e.type)) usage(`unknown event type ${e.type}; known: ${domain.registry.names().join(", ")}`);
    const { event, ack } = await createProducer(broker, cfg, domain, "realer-cli").emit(e.type, e.key, e.data, {
      ...(a.id ? { id: a.id } : {}),
    });
    return { id: event.id, seq: ack.seq, duplicate: ack.duplicate };
  } finally {
    await broker.close();
  }
}
