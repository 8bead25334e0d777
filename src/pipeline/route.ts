import { EventInvalid } from "../errors.js";
import { isValidChannel } from "../events/channel.js";
import { syncStage } from "./stage.js";
import type { Handler } from "./types.js";

const snakeToCamel = (s: string) => s.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());

function lookup(body: Record<string, unknown>, path: string): unknown {
  let v: unknown = body;
  for (const part of path.split(".")) {
    if (v === null || typeof v !== "object") return undefined;
    const o = v as Record<string, unknown>;
    v = o[snakeToCamel(part)] ?? o[part];
  }
  return v;
}

/** Fills a channel template such as "thread:{comment.thread_id}" from an event body. */
export function renderTemplate(template: string, body: Record<string, unknown>): string {
  return template.replace(/\{([A-Za-z0-9_.]+)\}/g, (_, path: string) => {
    const v = lookup(body, path);
    if (v === undefined || v === null || v === "") throw new EventInvalid(`field ${path} is empty (route ${template})`);
    return String(v);
  });
}

/**
 * Routes an event to its channels from its handler's templates, e.g.
 * `thread:{thread_id}` and `user:{author}`. An empty field or a channel name
 * outside the grammar drops the event with REALER_ERR_EVENT_INVALID.
 */
export function route(handlers: ReadonlyMap<string, Handler>) {
  return syncStage("route", [EventInvalid], (job) => {
    const handler = handlers.get(job.event!.type);
    if (!handler) throw new EventInvalid(`no handler for type ${job.event!.type}`);
    const channels = [...new Set(handler.routes.map((t) => renderTemplate(t, job.body!)))];
    for (const c of channels) if (!isValidChannel(c)) throw new EventInvalid(`routed to an invalid channel ${c}`);
    return { ...job, channels };
  });
}
