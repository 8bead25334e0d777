/**
 * realer as a library (`import { connectProducer } from "realer"`): the
 * producer SDK, the brokers it runs on, typed event types, the error
 * catalogue, and the stage API for writing worker stages and handlers
 * (docs/stages.md). The browser client is `realer/client` (and `/client.js` on every edge).
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
export { type BatchFn, type BatchOptions, batch } from "./pipeline/batch.js";
export { type EnrichOptions, enrich, type Lookup } from "./pipeline/enrich.js";
export { filter } from "./pipeline/filter.js";
export type { Handler, Output, Rendered } from "./pipeline/handler.js";
export type {
  Body,
  Claimed,
  Context,
  Decoded,
  Failed,
  Failure,
  Formatted,
  Job,
  Routed,
  Skip,
  Skipped,
} from "./pipeline/job.js";
export { skip } from "./pipeline/job.js";
export {
  type AnyStage,
  type AsyncStage,
  asyncStage,
  defineStage,
  type JobAt,
  type OperatorStage,
  type Progress,
  type Stage,
  type SyncStage,
  syncStage,
} from "./pipeline/stage.js";
export {
  type EmitOptions,
  type Emitted,
  Producer,
  type ProducerOptions,
  type ProducerStats,
  type RetryOptions,
} from "./producer/producer.js";
export { eventType } from "./producer/typed.js";
