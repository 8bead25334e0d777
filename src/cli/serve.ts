/** The long-running commands, with graceful shutdown on SIGTERM and SIGINT. */
import type { Command } from "commander";
import { startMetricsServer } from "../admin/metrics-http.js";
import type { Broker } from "../broker/types.js";
import { configFromEnv, type RealerConfig } from "../config/config.js";
import { WorkerNotRunning } from "../errors.js";
import { createLogger, type Logger } from "../log/logger.js";
import { brokerDown } from "../metrics/health.js";
import type { Worker } from "../worker/worker.js";
import { isEdgeWorker, parseWorkers, runEdgeCluster } from "./cluster.js";
import {
  createProducer,
  ensureStreams,
  loadDomain,
  type RunningEdge,
  startEdge,
  startWorker,
} from "./components.js";
import { intOption } from "./ops-context.js";
import { configFrom, hostOption, natsOption, usage } from "./options.js";
import { onShutdown } from "./shutdown.js";
import { openBroker } from "./wiring.js";

interface Running {
  broker: Broker;
  worker?: Worker;
  edge?: RunningEdge;
}

function shutdownOn(r: Running, log: Logger): void {
  const trigger = onShutdown(log, async (signal) => {
    log.info({ signal }, "draining");
    await r.edge?.app.close();
    await r.worker?.stop();
    await r.broker.close();
  });
  void r.worker?.fatal.then((err) => {
    log.fatal({ err }, "worker stopped on a fatal error");
    void trigger("fatal").finally(() => process.exit(1));
  });
}

export async function runDev(cfg: RealerConfig, log: Logger, edgeWorkers = 1): Promise<void> {
  if (isEdgeWorker()) return runEdge(cfg, log, true);
  if (edgeWorkers > 1) return runDevCluster(cfg, log, edgeWorkers);
  const broker = await openBroker(cfg, "realer-dev");
  await ensureStreams(broker, cfg);
  const domain = loadDomain();
  const worker = await startWorker(broker, cfg, domain, log);
  const producer = createProducer(broker, cfg, domain, "realer-dev");
  const edge = await startEdge(broker, cfg, log, { producer, domain, demo: true });
  log.info({ url: edge.url, broker: cfg.nats ? "jetstream" : "memory" }, `realer dev: open ${edge.url}`);
  shutdownOn({ broker, worker, edge }, log);
}

export async function runWorker(cfg: RealerConfig, log: Logger): Promise<void> {
  const broker = await openBroker(cfg, "realer-worker");
  await ensureStreams(broker, cfg);
  const worker = await startWorker(broker, cfg, loadDomain(), log);
  log.info({ durable: cfg.worker.durable }, "worker running");
  if (cfg.admin.metricsPort !== undefined) {
    const m = await startMetricsServer(cfg.admin.metricsPort, cfg.edge.host, () => ({
      error: worker.state !== "running" ? new WorkerNotRunning(worker.state) : brokerDown(broker.connected),
      state: worker.state,
      inFlight: worker.inFlight,
      ...worker.counts,
    }));
    log.info({ url: m.url }, "metrics listening");
  }
  shutdownOn({ broker, worker }, log);
}

/** dev with several edge processes: this process runs the pipeline worker, the forks serve HTTP. */
async function runDevCluster(cfg: RealerConfig, log: Logger, edgeWorkers: number): Promise<void> {
  if (!cfg.nats) usage("--edge-workers above 1 needs --nats: the in-memory broker lives inside one process");
  const broker = await openBroker(cfg, "realer-dev");
  await ensureStreams(broker, cfg);
  const worker = await startWorker(broker, cfg, loadDomain(), log);
  runEdgeCluster({
    workers: edgeWorkers,
    log,
    onStopped: async () => {
      await worker.stop();
      await broker.close();
    },
  });
}

export async function runEdge(cfg: RealerConfig, log: Logger, demo: boolean, workers = 1): Promise<void> {
  if (workers > 1 && !isEdgeWorker()) return runEdgeCluster({ workers, log });
  const broker = await openBroker(cfg, "realer-edge");
  await ensureStreams(broker, cfg);
  const domain = loadDomain();
  const producer = createProducer(broker, cfg, domain, "realer-edge");
  const edge = await startEdge(broker, cfg, log, { producer, domain, demo });
  shutdownOn({ broker, edge }, log);
}

export function registerServe(program: Command): void {
  const logger = () =>
    createLogger({ level: configFromEnv().logLevel, pretty: process.stdout.isTTY === true });
  program
    .command("dev")
    .description("everything in one process on the embedded in-memory broker, with the demo page")
    .option("--port <port>", "HTTP port, 0 picks a free one (default: REALER_PORT or 8080)")
    .addOption(hostOption())
    .addOption(natsOption().hideHelp())
    .option("--edge-workers <n>", "edge processes behind the one port (above 1 needs --nats)", "1")
    .action(async (opts) =>
      runDev(configFrom(opts), logger(), parseWorkers("--edge-workers", opts.edgeWorkers)),
    );

  program
    .command("worker")
    .description("claim events, run the pipelines, publish channel messages")
    .addOption(natsOption().makeOptionMandatory())
    .option(
      "--metrics-port <port>",
      "serve GET /metrics on this port (default: REALER_METRICS_PORT; off without)",
    )
    .addOption(hostOption("listen address of the metrics port"))
    .action(async (opts) => {
      const cfg = configFrom(opts);
      const port = intOption("--metrics-port", opts.metricsPort, 0);
      if (port !== undefined) cfg.admin.metricsPort = port;
      return runWorker(cfg, logger());
    });

  program
    .command("edge")
    .description("serve SSE connections and the HTTP ingest")
    .addOption(natsOption().makeOptionMandatory())
    .option("--port <port>", "HTTP port, 0 picks a free one (default: REALER_PORT or 8080)")
    .addOption(hostOption())
    .option("--demo", "also serve the demo page", false)
    .option("--workers <n>", "edge processes behind the one port (node:cluster); use one per core", "1")
    .action(async (opts) =>
      runEdge(configFrom(opts), logger(), opts.demo, parseWorkers("--workers", opts.workers)),
    );
}
