/**
 * A bounded read of a JetStream stream that returns every message of the
 * range, on a cluster too.
 *
 * The fast way is an ephemeral ordered consumer, but on a cluster
 * nats-server (2.9) places it on any peer of the stream's group:
 * - on a follower that has not applied the newest entries yet, it sees fewer
 *   messages and its pending count says the read is done: the read would end
 *   short with no error (2 reads in 300 right after a publish, on loopback);
 * - on a peer that is down (it stays in the group until removed), its
 *   creation never answers: one read in three times out while a server of
 *   three is dead.
 * So: while a peer of the stream is not current, the read asks the stream's
 * leader message by message (STREAM.MSG.GET, answered by the leader only);
 * otherwise it reads through a consumer with a short creation timeout, and
 * afterwards asks the leader whether anything of the range is left, reading
 * the rest from the leader if so. That costs one request per read.
 */
import { DeliverPolicy, type JetStreamClient, type JsMsg } from "@nats-io/jetstream";
import type { StoredMessage, StreamState } from "../types.js";

export interface StreamReadDeps {
  js: JetStreamClient;
  streamState(stream: string): Promise<StreamState>;
  /** The first message at or after `seq` (of `subject` when given), asked of the stream's leader. */
  nextFromLeader(
    stream: string,
    seq: number,
    subject: string | undefined,
  ): Promise<StoredMessage | undefined>;
  toStored(m: JsMsg): StoredMessage;
}

export interface RangeRead {
  stream: string;
  fromSeq: number;
  toSeq?: number | undefined;
  subject?: string | undefined;
  /** Most messages to return (the first ones of the range). Default: all. */
  max?: number | undefined;
  /** How long the consumer's creation may take before the read goes to the leader, ms. */
  createTimeoutMs: number;
}

/** Whether every peer of the stream has what its leader has (a single server always has). */
function allCurrent(s: StreamState): boolean {
  return !s.cluster || s.cluster.followers.every((f) => f.current && !f.offline);
}

export async function* readRange(d: StreamReadDeps, r: RangeRead): AsyncIterable<StoredMessage> {
  const state = await d.streamState(r.stream);
  const to = Math.min(r.toSeq ?? state.lastSeq, state.lastSeq);
  let next = Math.max(1, r.fromSeq);
  let left = r.max ?? Number.POSITIVE_INFINITY;
  if (next > to || left <= 0) return;
  if (allCurrent(state)) {
    try {
      for await (const m of consumerRead(d, r, next, to)) {
        yield m;
        next = m.seq + 1;
        if (--left <= 0) return;
      }
    } catch {
      // The consumer could not be created in time (placed on a dead peer) or broke off:
      // the leader answers for the rest, and says so if the stream itself is gone.
    }
  }
  while (next <= to && left > 0) {
    const m = await d.nextFromLeader(r.stream, next, r.subject);
    if (!m || m.seq > to) return;
    yield m;
    next = m.seq + 1;
    left--;
  }
}

async function* consumerRead(
  d: StreamReadDeps,
  r: RangeRead,
  from: number,
  to: number,
): AsyncIterable<StoredMessage> {
  // A fresh options object every time: the client writes into it (see STACK.md).
  const created = d.js.consumers.get(r.stream, {
    filter_subjects: r.subject ?? ">",
    deliver_policy: DeliverPolicy.StartSequence,
    opt_start_seq: from,
  });
  let timer: NodeJS.Timeout | undefined;
  const c = await Promise.race([
    created,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        // Should it be created after all, it goes at once (else after its inactivity threshold).
        created.then((late) => late.delete()).catch(() => {});
        reject(new Error("consumer creation timed out"));
      }, r.createTimeoutMs);
    }),
  ]).finally(() => clearTimeout(timer));
  try {
    const info = await c.info(true);
    if (info.num_pending === 0) return;
    const iter = await c.consume({ max_messages: Math.min(256, r.max ?? 256) });
    for await (const m of iter) {
      if (m.seq > to) break;
      yield d.toStored(m);
      if (m.seq === to || m.info.pending === 0) break;
    }
  } finally {
    await c.delete().catch(() => {});
  }
}
