/**
 * JetStream's errors in realer's terms: predicates for the API's error codes,
 * the not-found mapping every operation shares, and how administration
 * requests wait out a cluster's leader election.
 */
import { JetStreamApiCodes, JetStreamApiError } from "@nats-io/jetstream";
import { NoRespondersError, RequestError, TimeoutError } from "@nats-io/transport-node";
import { ConfigInvalid, ConsumerNotFound, StreamNotFound } from "../../errors.js";
import type { StreamSpec } from "../types.js";

export function isApiError(err: unknown, code: number): boolean {
  return err instanceof JetStreamApiError && err.code === code;
}

/** nats-server's code for "JetStream system temporarily unavailable" (a cluster electing its leader). */
const CLUSTER_NOT_AVAILABLE = 10008;
/** How long creating or updating a stream or consumer keeps trying through a leader election, ms. */
const ELECTION_WAIT_MS = 30_000;

/**
 * Runs a JetStream administration request again while a cluster cannot answer it yet: after a
 * server dies, the streams it led answer nothing (a timeout) until their followers elect a new
 * leader, a few seconds later. A process starting then comes up once that is done instead of
 * exiting. Anything else fails at once.
 */
export async function throughElections<T>(op: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + ELECTION_WAIT_MS;
  for (let delayMs = 200; ; delayMs = Math.min(delayMs * 2, 2_000)) {
    try {
      return await op();
    } catch (err) {
      const electing =
        err instanceof TimeoutError ||
        err instanceof NoRespondersError ||
        (err instanceof RequestError && err.isNoResponders()) ||
        isApiError(err, CLUSTER_NOT_AVAILABLE);
      if (!electing || Date.now() + delayMs > deadline) throw err;
      await new Promise((r) => setTimeout(r, delayMs));
    }
  }
}

/** nats-server's codes for "replicas > 1 not supported in non-clustered mode" and "insufficient resources". */
const REPLICAS_NOT_SUPPORTED = 10074;
const INSUFFICIENT_RESOURCES = 10023;

/** A stream refused because the servers cannot hold that many copies, as a configuration error. */
export function replicasRefused(spec: StreamSpec, err: unknown): Error | undefined {
  const replicas = spec.replicas ?? 1;
  if (replicas <= 1) return undefined;
  if (!isApiError(err, REPLICAS_NOT_SUPPORTED) && !isApiError(err, INSUFFICIENT_RESOURCES)) return undefined;
  return new ConfigInvalid(
    `stream ${spec.name} with ${replicas} replicas was refused by nats-server (${(err as Error).message}): ` +
      "a stream has at most one replica per JetStream server, and 1 on a single server (REALER_STREAM_REPLICAS)",
    { cause: err },
  );
}

/** Whether the server answered that the stream (or, with `durable`, the consumer) does not exist. */
export function isNotFound(err: unknown, durable?: string): boolean {
  return (
    isApiError(err, JetStreamApiCodes.StreamNotFound) ||
    (durable !== undefined && isApiError(err, JetStreamApiCodes.ConsumerNotFound))
  );
}

/** `err` in realer's terms when it says the stream (or consumer) is missing; `err` itself otherwise. */
export function notFoundAs(err: unknown, stream: string, durable?: string): unknown {
  if (isApiError(err, JetStreamApiCodes.StreamNotFound)) return new StreamNotFound(stream, { cause: err });
  if (durable !== undefined && isApiError(err, JetStreamApiCodes.ConsumerNotFound))
    return new ConsumerNotFound(durable, stream, { cause: err });
  return err;
}
