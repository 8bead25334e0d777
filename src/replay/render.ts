/**
 * Renders one stored event through the current handlers, as the worker's
 * route and format stages do, without publishing and without touching the
 * worker's ledger counters. Enrich stages are not re-run: handlers receive
 * an empty context during a replay.
 */
import { EventDecode, EventInvalid } from "../errors.js";
import { isValidChannel } from "../events/channel.js";
import { decodeEvent, type Event } from "../events/envelope.js";
import type { EventRegistry } from "../events/registry.js";
import { renderTemplate } from "../pipeline/route.js";
import type { Handler, Output } from "../pipeline/types.js";

export interface Rendering {
  event: Event;
  outputs: Output[];
}

const NO_CONTEXT: Readonly<Record<string, unknown>> = Object.freeze({});

export function decodeStored(data: Uint8Array): Event {
  try {
    return decodeEvent(data);
  } catch (err) {
    throw new EventDecode((err as Error).message);
  }
}

export function render(
  event: Event,
  registry: EventRegistry,
  handlers: ReadonlyMap<string, Handler>,
): Rendering {
  const body = registry.get(event.type).decode(event.payload);
  const handler = handlers.get(event.type);
  if (!handler) throw new EventInvalid(`no handler for type ${event.type}`);
  const channels = [...new Set(handler.routes.map((t) => renderTemplate(t, body)))];
  for (const c of channels)
    if (!isValidChannel(c)) throw new EventInvalid(`routed to an invalid channel ${c}`);
  const rendered = handler.format(body, event, NO_CONTEXT);
  const data = JSON.stringify(rendered.data);
  return { event, outputs: channels.map((channel) => ({ channel, type: rendered.type, data })) };
}
