/**
 * The workers' claims as one consumer: the sum over the durable consumer of
 * every partition of the events stream (events/partition.ts), for the
 * audit, the admin page and `realer inspect`.
 */
import type { BrokerAdmin, ConsumerState } from "../broker/types.js";
import type { RealerConfig } from "../config/config.js";
import { ConsumerNotFound } from "../errors.js";
import { partitionDurables } from "../events/partition.js";

/** The partition consumers' counts added up, under the workers' durable name. */
export function sumPartitions(durable: string, states: readonly ConsumerState[]): ConsumerState {
  // Everything up to the lowest floor of a partition with work left is settled; with none, up to the highest.
  const busy = states.filter((s) => s.pending > 0 || s.ackPending > 0);
  const floors = (busy.length > 0 ? busy : states).map((s) => s.ackFloor);
  return {
    stream: states[0]?.stream ?? "",
    name: durable,
    pending: states.reduce((n, s) => n + s.pending, 0),
    ackPending: states.reduce((n, s) => n + s.ackPending, 0),
    redelivered: states.reduce((n, s) => n + s.redelivered, 0),
    ackFloor: floors.length === 0 ? 0 : busy.length > 0 ? Math.min(...floors) : Math.max(...floors),
  };
}

/** Every partition's consumer added up; undefined when no worker has created them yet. */
export async function workerConsumerState(
  broker: BrokerAdmin,
  cfg: RealerConfig,
): Promise<ConsumerState | undefined> {
  const stream = cfg.streams.events.name;
  const states = await Promise.all(
    partitionDurables(cfg.worker.durable, cfg.subjects.eventPartitions).map((d) =>
      // A partition no worker has created yet counts as none; any other failure is the caller's.
      broker.consumerState(stream, d).catch((err: unknown) => {
        if (err instanceof ConsumerNotFound) return undefined;
        throw err;
      }),
    ),
  );
  const found = states.filter((s): s is ConsumerState => s !== undefined);
  return found.length === 0 ? undefined : sumPartitions(cfg.worker.durable, found);
}

/** `consumers` with the workers' partition consumers shown as one, with how many there are. */
export function groupPartitions(
  consumers: readonly ConsumerState[],
  cfg: RealerConfig,
): (ConsumerState & { partitions?: number })[] {
  const own = new RegExp(`^${cfg.worker.durable.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}-p\\d+$`);
  const isPartition = (c: ConsumerState) => c.stream === cfg.streams.events.name && own.test(c.name);
  const parts = consumers.filter(isPartition);
  const rest = consumers.filter((c) => !isPartition(c));
  if (parts.length === 0) return rest;
  return [{ ...sumPartitions(cfg.worker.durable, parts), partitions: parts.length }, ...rest];
}
