/**
 * realer as a library (`import { connectProducer } from "realer"`): the
 * producer SDK, the brokers it runs on, typed event types and the error
 * catalogue. The browser client is `realer/client` (and `/client.js` on every edge).
 */

export { JetStreamBroker, type JetStreamBrokerOptions } from "./broker/jetstream/broker.js";
export { MemoryBroker } from "./broker/memory/broker.js";
export type { Broker, PubAck, PublishOptions } from "./broker/types.js";
export { type ConnectProducerOptions, connectProducer } from "./cli/wiring.js";
export { CommentCreated, CommentDeleted, CommentEdited } from "./demo/comments.js";
export {
  catalogue,
  codeOf,
  type Disposition,
  dispositionOf,
  EventInvalid,
  EventUnknownType,
  IngestUnauthorized,
  ProducerClosed,
  ProducerOverloaded,
  PublishTimeout,
} from "./errors.js";
export { createEvent, decodeEvent, type Event, encodeEvent, type NewEvent } from "./events/envelope.js";
export { comments, realer } from "./events/proto.js";
export { EventRegistry, type EventType, protoType } from "./events/registry.js";
export {
  type EmitOptions,
  type Emitted,
  Producer,
  type ProducerOptions,
  type ProducerStats,
  type RetryOptions,
} from "./producer/producer.js";
export { eventType } from "./producer/typed.js";
