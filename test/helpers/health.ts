/** Health checks (`GET /healthz`) of real processes, across a nats-server outage. */
import assert from "node:assert/strict";
import type { NatsServer } from "./nats-server.js";
import { waitFor } from "./wait.js";

export interface HealthAnswer {
  status: number;
  body: { ok: boolean; code?: string } & Record<string, unknown>;
}

export async function getHealth(url: string): Promise<HealthAnswer> {
  const r = await fetch(url);
  return { status: r.status, body: (await r.json()) as HealthAnswer["body"] };
}

/** Polls `url` until it answers `status`; resolves with that answer. */
export function waitForHealth(url: string, status: number, timeoutMs = 30_000): Promise<HealthAnswer> {
  return waitFor(
    async () => {
      const h = await getHealth(url);
      return h.status === status ? h : undefined;
    },
    { timeoutMs, what: `${url} answering ${status}` },
  );
}

/**
 * Kills `nats`: `url` must turn to 503 REALER_ERR_BROKER_UNAVAILABLE; restarts it: `url` must
 * turn back to 200.
 */
export async function assertHealthAcrossOutage(url: string, nats: NatsServer): Promise<void> {
  await nats.kill();
  const down = await waitForHealth(url, 503, 20_000);
  assert.equal(down.body.ok, false);
  assert.equal(down.body.code, "REALER_ERR_BROKER_UNAVAILABLE");
  await nats.restart();
  await waitForHealth(url, 200);
}
