/**
 * Rendering: how handlers turn events into channel messages. The route stage
 * picks an event's channels, the format stage renders what clients see and
 * serializes it once for all of them, and a replay does both for stored
 * events: all of them through a `Renderer`, so a replay stores what the
 * worker would.
 */
import { EventInvalid } from "../errors.js";
import { isValidChannel } from "../events/channel.js";
import type { Event } from "../events/envelope.js";
import type { Handler, Output, Rendered } from "./handler.js";

type Body = Record<string, unknown>;

const NO_CONTEXT: Readonly<Record<string, unknown>> = Object.freeze({});

const snakeToCamel = (s: string) => s.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());

/** A field path such as "comment.thread_id", parsed once: each step tries the camelCase key, then the name as written. */
function compilePath(path: string): (body: Body) => unknown {
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

/**
 * Parses a channel template such as "thread:{comment.thread_id}" once into a
 * function of the body. An empty field fails with REALER_ERR_EVENT_INVALID.
 */
export function compileTemplate(template: string): (body: Body) => string {
  const parts = template.split(/\{([A-Za-z0-9_.]+)\}/);
  // Odd indexes are field paths, even ones literal text.
  const getters = parts.map((p, i) => (i % 2 === 1 ? compilePath(p) : undefined));
  return (body) => {
    let out = parts[0] ?? "";
    for (let i = 1; i < parts.length; i += 2) {
      const v = getters[i]?.(body);
      if (v === undefined || v === null || v === "")
        throw new EventInvalid(`field ${parts[i]} is empty (route ${template})`);
      out += String(v) + (parts[i + 1] ?? "");
    }
    return out;
  };
}

/** What an event renders to: the handler's result, and one channel message per channel. */
export interface Rendering {
  rendered: Rendered;
  outputs: Output[];
}

/** The handlers of every event type, with their channel templates parsed once. */
export class Renderer {
  readonly #handlers: ReadonlyMap<string, Handler>;
  readonly #routes: ReadonlyMap<string, ((body: Body) => string)[]>;

  constructor(handlers: ReadonlyMap<string, Handler>) {
    this.#handlers = handlers;
    this.#routes = new Map([...handlers].map(([type, h]) => [type, h.routes.map(compileTemplate)]));
  }

  /**
   * The channels an event goes to, from its handler's templates, each once.
   * An empty field, a channel name outside the grammar or a type without a
   * handler fails with REALER_ERR_EVENT_INVALID.
   */
  channels(type: string, body: Body): string[] {
    const templates = this.#routes.get(type);
    if (!templates) throw new EventInvalid(`no handler for type ${type}`);
    const channels =
      templates.length === 1 ? templates.map((t) => t(body)) : [...new Set(templates.map((t) => t(body)))];
    for (const c of channels)
      if (!isValidChannel(c)) throw new EventInvalid(`routed to an invalid channel ${c}`);
    return channels;
  }

  /**
   * What clients see, rendered once and serialized once for every channel.
   * `context` is what enrich stages found (empty without them).
   */
  format(
    event: Event,
    body: Body,
    channels: readonly string[],
    context: Readonly<Record<string, unknown>> = NO_CONTEXT,
  ): Rendering {
    const handler = this.#handlers.get(event.type);
    if (!handler) throw new EventInvalid(`no handler for type ${event.type}`);
    const rendered = handler.format(body, event, context);
    const data = JSON.stringify(rendered.data);
    return { rendered, outputs: channels.map((channel) => ({ channel, type: rendered.type, data })) };
  }

  /** The channel messages of an event, as the route and format stages make them, with an empty context. */
  outputs(event: Event, body: Body): Output[] {
    return this.format(event, body, this.channels(event.type, body)).outputs;
  }
}
