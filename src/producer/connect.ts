/** A producer on its own NATS connection, for applications that only emit. */
import { JetStreamBroker } from "../broker/jetstream-broker.js";
import { Producer, type ProducerOptions } from "./producer.js";

export interface ConnectProducerOptions extends Omit<ProducerOptions, "broker"> {
  /** NATS server URL(s), e.g. "nats://127.0.0.1:4222". */
  servers: string | string[];
}

/**
 * Connects to NATS and returns a producer that owns the connection:
 * `close()` waits for the events in flight, then closes it. Rejects with
 * REALER_ERR_BROKER_UNAVAILABLE when no server answers.
 */
export async function connectProducer(o: ConnectProducerOptions): Promise<Producer> {
  const { servers, ...rest } = o;
  const broker = await JetStreamBroker.connect({ servers, name: o.name ?? "realer-producer" });
  return new Producer({ ...rest, broker, ownsBroker: true });
}
