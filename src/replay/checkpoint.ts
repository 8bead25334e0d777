/**
 * Replay checkpoints live in a small stream of their own, one subject per
 * replay keeping only its latest message, so any process (the CLI, an
 * edge's admin API) can resume a replay another one started.
 */
import { randomBytes } from "node:crypto";
import type { AdminBroker, StreamSpec } from "../broker/types.js";
import { ReplayNotFound } from "../errors.js";
import type { ReplayCheckpoint } from "./types.js";

const SUBJECT = "realer.replay";
const DAY_MS = 86_400_000;

/** The checkpoint stream, with as many replicas as realer's other streams. */
export function replayStreamSpec(storage: "file" | "memory", replicas?: number): StreamSpec {
  return {
    name: "REALER_REPLAY",
    subjects: [`${SUBJECT}.>`],
    maxMsgsPerSubject: 1,
    maxAgeMs: 30 * DAY_MS,
    storage,
    ...(replicas ? { replicas } : {}),
  };
}

/** A new replay id: sortable by start time, safe as a subject token. */
export function newReplayId(now = Date.now()): string {
  return `r${now.toString(36)}${randomBytes(3).toString("hex")}`;
}

const ID_RE = /^[A-Za-z0-9_-]{1,64}$/;

export class CheckpointStore {
  readonly #broker: AdminBroker;
  readonly #spec: StreamSpec;
  #ready: Promise<void> | undefined;

  constructor(broker: AdminBroker, storage: "file" | "memory", replicas?: number) {
    this.#broker = broker;
    this.#spec = replayStreamSpec(storage, replicas);
  }

  #ensure(): Promise<void> {
    this.#ready ??= this.#broker.ensureStream(this.#spec);
    return this.#ready;
  }

  async save(cp: ReplayCheckpoint): Promise<void> {
    await this.#ensure();
    await this.#broker.publish(`${SUBJECT}.${cp.id}`, new TextEncoder().encode(JSON.stringify(cp)));
  }

  /** The latest checkpoint of `id`; rejects with REALER_ERR_REPLAY_NOT_FOUND when there is none. */
  async load(id: string): Promise<ReplayCheckpoint> {
    if (!ID_RE.test(id)) throw new ReplayNotFound(JSON.stringify(id));
    const all = await this.#read(`${SUBJECT}.${id}`);
    const cp = all.at(-1);
    if (!cp) throw new ReplayNotFound(id);
    return cp;
  }

  /** Every replay's latest checkpoint, newest first. */
  async list(): Promise<ReplayCheckpoint[]> {
    const latest = new Map<string, ReplayCheckpoint>();
    for (const cp of await this.#read(`${SUBJECT}.>`)) latest.set(cp.id, cp);
    return [...latest.values()].sort((a, b) => b.startedAt - a.startedAt);
  }

  async #read(subject: string): Promise<ReplayCheckpoint[]> {
    await this.#ensure();
    const { firstSeq, messages } = await this.#broker.streamState(this.#spec.name);
    if (messages === 0) return [];
    const out: ReplayCheckpoint[] = [];
    for await (const m of this.#broker.read(this.#spec.name, { subject, fromSeq: firstSeq })) {
      out.push(JSON.parse(new TextDecoder().decode(m.data)) as ReplayCheckpoint);
    }
    return out;
  }
}
