/** `realer inspect`: streams, durable consumers and edges, as tables or JSON. */

import type { Command } from "commander";
import type { StreamState } from "../broker/types.js";
import { table } from "../ops/table.js";
import { groupPartitions } from "../ops/worker-consumers.js";
import { withOps } from "./ops-context.js";
import { configFrom, natsOption } from "./options.js";

export interface EdgeState {
  url: string;
  ok: boolean;
  connections?: number;
  channels?: number;
  position?: number;
  error?: string;
}

/** An edge's state: its admin overview with a token (channels too), else /healthz. */
async function edgeState(url: string, token: string | undefined): Promise<EdgeState> {
  try {
    if (token) {
      const res = await fetch(new URL("/admin/api/overview", url), {
        headers: { authorization: `Bearer ${token}` },
        signal: AbortSignal.timeout(5000),
      });
      const body = (await res.json()) as {
        edge?: { connections: number; channels: number; position: number };
        code?: string;
      };
      if (!res.ok) return { url, ok: false, error: body.code ?? `HTTP ${res.status}` };
      return { url, ok: true, ...body.edge };
    }
    const res = await fetch(new URL("/healthz", url), { signal: AbortSignal.timeout(5000) });
    const body = (await res.json()) as { connections?: number; position?: number };
    return {
      url,
      ok: res.ok,
      ...(body.connections !== undefined ? { connections: body.connections } : {}),
      ...(body.position !== undefined ? { position: body.position } : {}),
    };
  } catch (err) {
    return { url, ok: false, error: (err as Error).message };
  }
}

/** "3 (leader n2; n3 offline)": the copies, and on a cluster who leads and who is not keeping up. */
export function replication(s: StreamState): string {
  if (!s.cluster) return String(s.replicas);
  const behind = s.cluster.followers
    .filter((f) => f.offline || !f.current)
    .map((f) => `${f.name} ${f.offline ? "offline" : `behind${f.lag > 0 ? ` by ${f.lag}` : ""}`}`);
  return `${s.replicas} (leader ${s.cluster.leader}${behind.length > 0 ? `; ${behind.join(", ")}` : ""})`;
}

const collect = (v: string, prev: string[]) => [...prev, ...v.split(",").filter(Boolean)];
const dash = (v: number | undefined) => (v === undefined ? "-" : v);

export function registerInspect(program: Command): void {
  program
    .command("inspect")
    .description(
      "streams (messages, bytes, sequences), consumers (unclaimed, claimed, redelivered) and edges",
    )
    .addOption(natsOption())
    .option("--stream <name>", "only this stream")
    .option("--edge <url>", "an edge's base URL (repeat, or comma separate)", collect, [])
    .option("--json", "machine-readable output")
    .action(async (f: { nats?: string; stream?: string; edge: string[]; json?: boolean }) => {
      const cfg = configFrom(f);
      await withOps(cfg, "inspect", async (o) => {
        const names = f.stream ? [f.stream] : await o.broker.streams();
        const streams: StreamState[] = await Promise.all(names.map((n) => o.broker.streamState(n)));
        // The workers' consumers, one per partition of the events stream, as one.
        const consumers = groupPartitions(
          (await Promise.all(names.map((n) => o.broker.consumers(n)))).flat(),
          cfg,
        );
        const edges = await Promise.all(f.edge.map((u) => edgeState(u, cfg.admin.token)));
        if (f.json) {
          process.stdout.write(`${JSON.stringify({ streams, consumers, edges })}\n`);
          return;
        }
        const out = [
          table(
            ["stream", "messages", "bytes", "first seq", "last seq", "replicas"],
            streams.map((s) => [s.name, s.messages, s.bytes, s.firstSeq, s.lastSeq, replication(s)]),
          ),
          consumers.length > 0
            ? table(
                [
                  "stream",
                  "consumer",
                  "pending (unclaimed)",
                  "ack pending (claimed)",
                  "redelivered",
                  "ack floor",
                ],
                consumers.map((c) => [
                  c.stream,
                  c.partitions ? `${c.name} (${c.partitions} partitions)` : c.name,
                  c.pending,
                  c.ackPending,
                  c.redelivered,
                  c.ackFloor,
                ]),
              )
            : "no durable consumers",
        ];
        if (edges.length > 0) {
          out.push(
            table(
              ["edge", "up", "connections", "channels", "position", "error"],
              edges.map((e) => [
                e.url,
                e.ok ? "yes" : "no",
                dash(e.connections),
                dash(e.channels),
                dash(e.position),
                e.error ?? "",
              ]),
            ),
          );
        }
        process.stdout.write(`${out.join("\n")}\n`);
      });
    });
}
