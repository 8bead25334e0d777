import { EventInvalid } from "../errors.js";
import { isValidChannel } from "../events/channel.js";
import { syncStage } from "./stage.js";
import type { Handler } from "./types.js";

const snakeToCamel = (s: string) => s.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());

/** A field path such as "comment.thread_id", parsed once: each step tries the camelCase key, then the name as written. */
function compilePath(path: string): (body: Record<string, unknown>) => unknown {
  const steps = path.split(".").map((part) => [snakeToCamel(part), part] as const);
  return (body) => {
    let v: unknown = body;
    for (const [camel, raw] of steps) {
      if (v === null || typeof v !== "object") return undefined;
      const o = v as Record<string, unknown>;
      v = o[camel] ?? o[raw];
    }
    return v;
  };
}

/** Fills a channel template such as "thread:{comment.thread_id}" from an event body. */
export function renderTemplate(template: string, body: Record<string, unknown>): string {
  return compileTemplate(template)(body);
}

/** Parses a template once into a function of the body; the route stage calls it per event. */
export function compileTemplate(template: string): (body: Record<string, unknown>) => string {
  const parts = template.split(/\{([A-Za-z0-9_.]+)\}/);
  // Odd indexes are field paths, even ones literal text.
  const getters = parts.map((p, i) => (i % 2 === 1 ? compilePath(p) : undefined));
  return (body) => {
    let out = parts[0]!;
    for (let i = 1; i < parts.length; i += 2) {
      const path = parts[i]!;
      const v = getters[i]!(body);
      if (v === undefined || v === null || v === "")
        throw new EventInvalid(`field ${path} is empty (route ${template})`);
      out += String(v) + parts[i + 1]!;
    }
    return out;
  };
}

/**
 * Routes an event to its channels from its handler's templates, e.g.
 * `thread:{thread_id}` and `user:{author}`. An empty field or a channel name
 * outside the grammar drops the event with REALER_ERR_EVENT_INVALID.
 */
export function route(handlers: ReadonlyMap<string, Handler>) {
  const compiled = new Map([...handlers].map(([type, h]) => [type, h.routes.map(compileTemplate)]));
  return syncStage("route", [EventInvalid], (job) => {
    const templates = compiled.get(job.event!.type);
    if (!templates) throw new EventInvalid(`no handler for type ${job.event!.type}`);
    const channels =
      templates.length === 1 ? [templates[0]!(job.body!)] : [...new Set(templates.map((t) => t(job.body!)))];
    for (const c of channels)
      if (!isValidChannel(c)) throw new EventInvalid(`routed to an invalid channel ${c}`);
    return { ...job, channels };
  });
}
