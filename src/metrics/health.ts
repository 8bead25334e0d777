/**
 * What every health check answers (`GET /healthz` of edges, the ingest and
 * workers), for load balancers and orchestrators: 200 `{ok: true, ...}`, or
 * 503 `{ok: false, code, message, ...}` when `error` (a catalogue error) says
 * why the process cannot do its job. The other fields come either way.
 */
import { BrokerUnavailable, codeOf } from "../errors.js";

export interface Health {
  error?: Error | undefined;
  [field: string]: unknown;
}

export function healthAnswer({ error, ...fields }: Health): {
  status: 200 | 503;
  body: Record<string, unknown>;
} {
  if (!error) return { status: 200, body: { ok: true, ...fields } };
  return { status: 503, body: { ok: false, code: codeOf(error), message: error.message, ...fields } };
}

/** The error a process whose broker connection is down answers with; none while it is up. */
export function brokerDown(connected: boolean): Error | undefined {
  return connected ? undefined : new BrokerUnavailable("the NATS connection is down; reconnecting");
}
