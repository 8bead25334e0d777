/**
 * Debian's HAProxy running deploy/haproxy/haproxy.cfg, unchanged: its addresses are
 * environment variables (EDGE1, EDGE2, LB_BIND, LB_STATS_BIND, LB_MAX_CONN_PER_CLIENT),
 * so a test only picks free ports and passes its edges. `servers()` reads the stats
 * page: which edges the health checks hold in rotation.
 */
import { fileURLToPath } from "node:url";
import { type Daemon, startDaemon, threeTries } from "./daemon.js";
import { freePort } from "./ports.js";
import { requireTool } from "./tools.js";
import { waitFor } from "./wait.js";

export const HAPROXY_CFG = fileURLToPath(new URL("../../deploy/haproxy/haproxy.cfg", import.meta.url));

export interface HaproxyOptions {
  /** The two edges, as base URLs (http://127.0.0.1:PORT) or host:port. */
  edges: readonly [string, string];
  /** Open connections one client address may hold. Default 100000: test clients share 127.0.0.1. */
  maxConnPerClient?: number;
}

/** An edge as HAProxy's stats page shows it. */
export interface ServerState {
  /** "UP", "DOWN", "MAINT", "UP 1/2" while rising, "DOWN 1/2" while falling... */
  status: string;
  /** The last health check: "L7OK", "L7STS" (a refusing HTTP status), "L4CON" (connection refused)... */
  check: string;
}
export type ServerStates = Record<string, ServerState>;

export interface RunningHaproxy extends Daemon {
  /** Where clients connect, e.g. http://127.0.0.1:PORT. */
  url: string;
  /** The stats listener: `${statsUrl}/stats`, `${statsUrl}/metrics`. */
  statsUrl: string;
  /** The state of each edge (edge1, edge2) in the realer_edges backend. */
  servers(): Promise<ServerStates>;
  /** Polls the stats page until `edge` ("edge1", "edge2") is in `state` ("UP", "DOWN"); resolves with it. */
  waitForServer(edge: string, state: string, timeoutMs?: number): Promise<ServerState>;
}

const hostPort = (edge: string) => (edge.includes("://") ? new URL(edge).host : edge);

/** The environment deploy/haproxy/haproxy.cfg reads, for a caller that runs HAProxy itself. */
export function haproxyEnv(o: HaproxyOptions & { bind: string; statsBind: string }): Record<string, string> {
  return {
    LB_BIND: o.bind,
    LB_STATS_BIND: o.statsBind,
    EDGE1: hostPort(o.edges[0]),
    EDGE2: hostPort(o.edges[1]),
    LB_MAX_CONN_PER_CLIENT: String(o.maxConnPerClient ?? 100_000),
  };
}

/** Parses the stats page's CSV into the state of each server of `backend`. */
export function serverStates(csv: string, backend = "realer_edges"): ServerStates {
  const [head, ...rows] = csv.trim().split("\n");
  const cols = head!.replace(/^# /, "").split(",");
  const px = cols.indexOf("pxname");
  const sv = cols.indexOf("svname");
  const st = cols.indexOf("status");
  const ck = cols.indexOf("check_status");
  const out: ServerStates = {};
  for (const row of rows) {
    const f = row.split(",");
    if (f[px] === backend && f[sv] !== "BACKEND" && f[sv] !== "FRONTEND")
      out[f[sv]!] = { status: f[st]!, check: f[ck]! };
  }
  return out;
}

export async function startHaproxy(o: HaproxyOptions): Promise<RunningHaproxy> {
  const bin = requireTool("haproxy");
  return threeTries(async () => {
    const port = await freePort();
    const statsPort = await freePort();
    const env = haproxyEnv({ ...o, bind: `127.0.0.1:${port}`, statsBind: `127.0.0.1:${statsPort}` });
    const statsUrl = `http://127.0.0.1:${statsPort}`;
    const servers = async () => serverStates(await (await fetch(`${statsUrl}/stats;csv`)).text());
    // -db: stay in the foreground; the config logs to stdout.
    const d = await startDaemon(
      bin,
      ["-db", "-f", HAPROXY_CFG],
      async () => Object.keys(await servers()).length === 2,
      env,
    );
    return {
      ...d,
      url: `http://127.0.0.1:${port}`,
      statsUrl,
      servers,
      waitForServer: (edge, state, timeoutMs = 15_000) =>
        waitFor(
          async () => {
            const s = (await servers())[edge];
            return s?.status === state ? s : undefined;
          },
          { timeoutMs, what: `haproxy to see ${edge} ${state}` },
        ),
    };
  });
}
