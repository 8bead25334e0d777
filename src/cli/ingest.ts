/** `realer ingest`: the HTTP ingest as its own process, in front of NATS. */
import type { Command } from "commander";
import { configFromEnv, type RealerConfig } from "../config/config.js";
import { buildIngestServer } from "../ingest/server.js";
import { createLogger, type Logger } from "../log/logger.js";
import { Producer } from "../producer/producer.js";
import { ensureStreams, loadDomain } from "./components.js";
import { configFrom, hostOption, natsOption } from "./options.js";
import { openBroker } from "./wiring.js";

export async function runIngest(cfg: RealerConfig, log: Logger): Promise<void> {
  const broker = await openBroker(cfg, "realer-ingest");
  await ensureStreams(broker, cfg);
  const { registry } = loadDomain();
  const producer = new Producer({
    broker,
    registry,
    prefix: cfg.subjects.events,
    partitions: cfg.subjects.eventPartitions,
    name: "realer-ingest",
    log: log.child({ component: "producer" }),
  });
  if (cfg.ingest.keys.length === 0)
    log.warn("REALER_INGEST_KEYS is empty: every request will be refused with 401");
  const app = await buildIngestServer({
    producer,
    registry,
    config: cfg.ingest,
    log: log.child({ component: "ingest" }),
  });
  const url = await app.listen({ host: cfg.edge.host, port: cfg.edge.port });
  log.info({ url }, "ingest listening");
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, "draining");
    await app.close();
    await producer.close();
    await broker.close();
    process.exit(0);
  };
  process.once("SIGTERM", () => void stop("SIGTERM"));
  process.once("SIGINT", () => void stop("SIGINT"));
}

export function registerIngest(program: Command): void {
  program
    .command("ingest")
    .description("HTTP ingest only (POST /v1/events, /v1/events/batch), API keys from REALER_INGEST_KEYS")
    .addOption(natsOption().makeOptionMandatory())
    .option("--port <port>", "HTTP port, 0 picks a free one (default: REALER_PORT or 8080)")
    .addOption(hostOption())
    .action(async (opts) => runIngest(configFrom(opts), createLogger({ level: configFromEnv().logLevel })));
}
