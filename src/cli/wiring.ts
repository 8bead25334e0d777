/**
 * The one seam where a broker implementation is chosen: JetStream when a
 * NATS URL is configured, the in-memory twin otherwise. Everything else
 * takes a `Broker` (src/broker/types.ts).
 */
import { JetStreamBroker } from "../broker/jetstream/broker.js";
import { MemoryBroker } from "../broker/memory/broker.js";
import type { AdminBroker } from "../broker/types.js";
import type { RealerConfig } from "../config/config.js";
import { Producer, type ProducerOptions } from "../producer/producer.js";

export async function openBroker(cfg: RealerConfig, name: string): Promise<AdminBroker> {
  if (!cfg.nats) return new MemoryBroker();
  return JetStreamBroker.connect({ servers: cfg.nats.split(","), name });
}

export interface ConnectProducerOptions extends Omit<ProducerOptions, "broker"> {
  /** NATS server URL(s), e.g. "nats://127.0.0.1:4222". */
  servers: string | string[];
}

/**
 * A producer on its own NATS connection, for applications that only emit
 * (exported by the library as `connectProducer`). Its `close()` waits for
 * the events in flight, then closes the connection. Rejects with
 * REALER_ERR_BROKER_UNAVAILABLE when no server answers.
 */
export async function connectProducer(o: ConnectProducerOptions): Promise<Producer> {
  const { servers, ...rest } = o;
  const broker = await JetStreamBroker.connect({ servers, name: o.name ?? "realer-producer" });
  return new Producer({ ...rest, broker, ownsBroker: true });
}
