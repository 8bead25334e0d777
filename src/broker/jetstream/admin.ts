/**
 * The operator capabilities of the JetStream broker (`BrokerAdmin`): streams,
 * durable consumers and their counts, single messages, purges. The broker
 * (broker.ts) extends it with the data path.
 */
import {
  DeliverPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  type JetStreamClient,
  type JetStreamManager,
  type MsgRequest,
} from "@nats-io/jetstream";
import type {
  BrokerAdmin,
  ConsumerState,
  ReadOptions,
  StoredMessage,
  StreamState,
  SubjectState,
} from "../types.js";
import { isApiError, isNotFound, notFoundAs } from "./errors.js";
import { toConsumerState, toRecord } from "./messages.js";

/** The v3 client refuses pull expiries under one second. */
export const MIN_EXPIRES_MS = 1_000;

export abstract class JetStreamAdmin implements BrokerAdmin {
  protected readonly js: JetStreamClient;
  protected readonly jsm: JetStreamManager;

  protected constructor(js: JetStreamClient, jsm: JetStreamManager) {
    this.js = js;
    this.jsm = jsm;
  }

  abstract read(stream: string, opts: ReadOptions): AsyncIterable<StoredMessage>;
  abstract streamState(stream: string): Promise<StreamState>;

  async streams(): Promise<string[]> {
    const out: string[] = [];
    for await (const n of this.jsm.streams.names()) out.push(n);
    return out.sort();
  }

  async consumers(stream: string): Promise<ConsumerState[]> {
    const out: ConsumerState[] = [];
    try {
      for await (const ci of this.jsm.consumers.list(stream)) {
        if (ci.config.durable_name) out.push(toConsumerState(stream, ci));
      }
    } catch (err) {
      throw notFoundAs(err, stream);
    }
    return out.sort((a, b) => a.name.localeCompare(b.name));
  }

  async consumerState(stream: string, durable: string): Promise<ConsumerState> {
    try {
      return toConsumerState(stream, await this.jsm.consumers.info(stream, durable));
    } catch (err) {
      throw notFoundAs(err, stream, durable);
    }
  }

  async subjectState(stream: string, subject: string): Promise<SubjectState> {
    let messages: number;
    try {
      const info = await this.jsm.streams.info(stream, { subjects_filter: subject });
      messages = info.state.subjects?.[subject] ?? 0;
    } catch (err) {
      throw notFoundAs(err, stream);
    }
    if (messages === 0) return { messages, firstSeq: 0 };
    for await (const m of this.read(stream, { subject, fromSeq: 1, max: 1 }))
      return { messages, firstSeq: m.seq };
    // Gone since the count was taken.
    return { messages: 0, firstSeq: 0 };
  }

  getMessage(stream: string, seq: number): Promise<StoredMessage | undefined> {
    return this.getStored(stream, { seq });
  }

  /** STREAM.MSG.GET: answered by the stream's leader only, so never behind what it stored. */
  protected async getStored(stream: string, query: MsgRequest): Promise<StoredMessage | undefined> {
    try {
      const m = await this.jsm.streams.getMessage(stream, query);
      if (!m) return undefined;
      return {
        subject: m.subject,
        seq: m.seq,
        data: m.data,
        headers: toRecord(m.header),
        time: m.time.getTime(),
      };
    } catch (err) {
      if (isApiError(err, JetStreamApiCodes.NoMessageFound)) return undefined;
      throw notFoundAs(err, stream);
    }
  }

  async deleteMessage(stream: string, seq: number): Promise<boolean> {
    try {
      return await this.jsm.streams.deleteMessage(stream, seq, false);
    } catch (err) {
      if (isNotFound(err)) throw notFoundAs(err, stream);
      // The server answers a missing sequence with an API error rather than false.
      if (err instanceof JetStreamApiError) return false;
      throw err;
    }
  }

  async purge(stream: string, subject?: string): Promise<number> {
    try {
      const r = await this.jsm.streams.purge(stream, subject ? { filter: subject } : undefined);
      return r.purged;
    } catch (err) {
      throw notFoundAs(err, stream);
    }
  }

  async seqAtTime(stream: string, timeMs: number): Promise<number> {
    const { lastSeq } = await this.streamState(stream);
    const c = await this.js.consumers.get(stream, {
      deliver_policy: DeliverPolicy.StartTime,
      opt_start_time: new Date(timeMs).toISOString(),
    });
    try {
      const info = await c.info(true);
      if (info.num_pending === 0) return lastSeq + 1;
      const m = await c.next({ expires: MIN_EXPIRES_MS * 5 });
      return m ? m.seq : lastSeq + 1;
    } finally {
      await c.delete().catch(() => {});
    }
  }
}
