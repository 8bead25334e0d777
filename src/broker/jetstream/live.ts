/**
 * The live subjects of a stream that republishes what it stores (JetStream
 * RePublish): one plain subscription per subject, each message with its
 * subject's previous sequence, and the losses (a disconnect, a reconnect, a
 * new leader) that may have skipped some.
 */
import type { NatsConnection } from "@nats-io/transport-node";
import type { LiveLoss, LiveSubjectSource, StoredMessage } from "../types.js";
import { republishedBy } from "./messages.js";

export interface LiveDeps {
  nc: NatsConnection;
  stream: string;
  /** Where the stream republishes ("<prefix>.>"). */
  dest: string;
  /** Told of every disconnect and reconnect of the connection. */
  statusListeners: Set<(why: "disconnect" | "reconnect") => void>;
  read(fromSeq: number, toSeq: number, subject?: string): AsyncIterable<StoredMessage>;
  lastSeq(): Promise<number>;
}

export function liveSubjectSource(d: LiveDeps): LiveSubjectSource {
  const { nc, stream, dest } = d;
  const prefix = dest.endsWith(".>") ? dest.slice(0, -2) : dest;
  return {
    subscribe: (subject, onMessage) => {
      const sub = nc.subscribe(`${prefix}.${subject}`, {
        callback: (err, m) => {
          const lm = err ? undefined : republishedBy(stream, m);
          if (lm) onMessage(lm, lm.prevSeq);
        },
      });
      return () => {
        if (!nc.isClosed()) sub.unsubscribe();
      };
    },
    flush: () => nc.flush(),
    onLoss: (fn: (why: LiveLoss) => void) => {
      // A new leader republishes only what it stores itself: what its predecessor stored and
      // had not sent yet is never republished.
      const advisory = nc.subscribe(`$JS.EVENT.ADVISORY.STREAM.LEADER_ELECTED.${stream}`, {
        callback: (err) => {
          if (!err) fn("leader");
        },
      });
      d.statusListeners.add(fn);
      return () => {
        d.statusListeners.delete(fn);
        if (!nc.isClosed()) advisory.unsubscribe();
      };
    },
    read: (fromSeq, toSeq, subject) => d.read(fromSeq, toSeq, subject),
    lastSeq: () => d.lastSeq(),
  };
}
