/**
 * Several edge processes behind one port. Node 20 has no `reusePort`, so
 * the edge uses node:cluster: the primary owns the listening socket and
 * hands accepted connections round-robin to its workers, each a complete
 * edge (its own hub, its own tail of the channel stream). Every process
 * therefore still dispatches frames in stream-sequence order, and a
 * connection's Last-Event-ID resumes it on whichever process it lands.
 *
 * More processes use more cores and lift the per-process open-file limit
 * (one process holds at most ~20,000 sockets on our machines).
 *
 * The primary serves no requests. It forks the workers, replaces one that
 * dies (with a growing delay, so a crash loop does not spin), and on
 * SIGTERM/SIGINT passes SIGTERM to every worker, waits for them to drain
 * and exit, then exits itself. A worker whose primary disappears exits
 * (node:cluster ends a worker whose IPC channel closes).
 */
import cluster, { type Worker as ClusterWorker } from "node:cluster";
import type { Logger } from "../log/logger.js";
import { usage } from "./options.js";
import { onShutdown } from "./shutdown.js";

export const MAX_EDGE_WORKERS = 64;

/** Parses a `--workers` value: an integer from 1 to MAX_EDGE_WORKERS. */
export function parseWorkers(flag: string, raw: string | undefined): number {
  if (raw === undefined) return 1;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > MAX_EDGE_WORKERS) {
    usage(`${flag} ${raw}: expected an integer from 1 to ${MAX_EDGE_WORKERS}`);
  }
  return n;
}

/** True in a process forked by `runEdgeCluster`: it runs one edge. */
export const isEdgeWorker = (): boolean => cluster.isWorker;

export interface EdgeClusterOptions {
  /** Edge processes to keep running. */
  workers: number;
  log: Logger;
  /** Runs after every worker has exited on shutdown (dev: stop the pipeline worker). */
  onStopped?: () => Promise<void>;
  /** How long workers get to drain before they are killed, ms. Default EDGE_CLUSTER_DRAIN_MS. */
  drainTimeoutMs?: number;
}

/** How long, by default, the primary gives its edge processes to drain on shutdown before it kills them, ms. */
export const EDGE_CLUSTER_DRAIN_MS = 30_000;

/** A restart delay: doubles per quick crash, back to the minimum after a worker lived a while. */
const MIN_RESTART_MS = 100;
const MAX_RESTART_MS = 10_000;
const HEALTHY_AFTER_MS = 30_000;

/** Runs in the primary: forks the edge workers and supervises them until SIGTERM/SIGINT. */
export function runEdgeCluster(o: EdgeClusterOptions): void {
  const log = o.log.child({ component: "edge-cluster" });
  cluster.schedulingPolicy = cluster.SCHED_RR;
  const started = new Map<number, number>();
  const listening = new Set<number>();
  let restartDelay = MIN_RESTART_MS;
  let announced = false;
  let stopping = false;

  const fork = () => {
    const w = cluster.fork();
    started.set(w.id, Date.now());
  };

  cluster.on("listening", (w: ClusterWorker, address) => {
    listening.add(w.id);
    if (announced || listening.size < o.workers) return;
    announced = true;
    const host = address.address && address.address !== "::" ? address.address : "127.0.0.1";
    const url = `http://${host.includes(":") ? `[${host}]` : host}:${address.port}`;
    const pids = Object.values(cluster.workers ?? {}).map((x) => x?.process.pid);
    log.info({ url, workers: o.workers, pids }, "edge cluster listening");
  });

  cluster.on("exit", (w: ClusterWorker, code, signal) => {
    listening.delete(w.id);
    const lived = Date.now() - (started.get(w.id) ?? Date.now());
    started.delete(w.id);
    if (stopping) return;
    restartDelay = lived > HEALTHY_AFTER_MS ? MIN_RESTART_MS : Math.min(MAX_RESTART_MS, restartDelay * 2);
    log.warn(
      { pid: w.process.pid, code, signal, restartInMs: restartDelay },
      "edge worker exited; replacing it",
    );
    setTimeout(() => {
      if (!stopping) fork();
    }, restartDelay).unref();
  });

  onShutdown(log, async (signal) => {
    stopping = true;
    log.info({ signal }, "stopping edge workers");
    const alive = Object.values(cluster.workers ?? {}).filter((w): w is ClusterWorker => !!w && !w.isDead());
    const exited = alive.map((w) => new Promise<void>((r) => (w.isDead() ? r() : w.once("exit", () => r()))));
    for (const w of alive) w.process.kill("SIGTERM");
    const killer = setTimeout(() => {
      for (const w of alive) if (!w.isDead()) w.process.kill("SIGKILL");
    }, o.drainTimeoutMs ?? EDGE_CLUSTER_DRAIN_MS);
    await Promise.all(exited);
    clearTimeout(killer);
    await o.onStopped?.();
  });

  for (let i = 0; i < o.workers; i++) fork();
}
