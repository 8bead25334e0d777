/**
 * An in-process realer on a given broker: streams, a worker, a hub and an
 * edge listening on port 0. Everything is real; only the process is shared.
 */
import type { Broker } from "../../src/broker/types.js";
import {
  createProducer,
  type Domain,
  ensureStreams,
  loadDomain,
  type RunningEdge,
  startEdge,
  startWorker,
} from "../../src/cli/components.js";
import { defaultConfig, type RealerConfig } from "../../src/config/config.js";
import { createLogger } from "../../src/log/logger.js";
import type { Producer } from "../../src/producer/producer.js";
import type { Worker } from "../../src/worker/worker.js";

export interface Stack {
  cfg: RealerConfig;
  domain: Domain;
  producer: Producer;
  worker: Worker | undefined;
  edge: RunningEdge | undefined;
  close(): Promise<void>;
}

export function testConfig(over: (c: RealerConfig) => void = () => {}): RealerConfig {
  const cfg = defaultConfig();
  cfg.edge.port = 0;
  cfg.edge.heartbeatMs = 1000;
  cfg.worker.ackWaitMs = 5000;
  cfg.worker.fetchExpiresMs = 1000;
  cfg.worker.retryDelayMs = 50;
  cfg.logLevel = process.env.REALER_TEST_LOG ?? "silent";
  over(cfg);
  return cfg;
}

export async function startStack(
  broker: Broker,
  opts: { cfg?: RealerConfig; worker?: boolean; edge?: boolean } = {},
): Promise<Stack> {
  const cfg = opts.cfg ?? testConfig();
  const log = createLogger({ level: cfg.logLevel });
  await ensureStreams(broker, cfg);
  const domain = loadDomain();
  const producer = createProducer(broker, cfg, domain, "test");
  const worker = opts.worker === false ? undefined : await startWorker(broker, cfg, domain, log);
  const edge = opts.edge === false ? undefined : await startEdge(broker, cfg, log, { producer, demo: true });
  return {
    cfg,
    domain,
    producer,
    worker,
    edge,
    async close() {
      await edge?.app.close();
      await worker?.stop();
    },
  };
}
