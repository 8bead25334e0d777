/**
 * Event types by name. A type knows how to turn its payload bytes into a
 * plain object and back; it knows nothing of NATS, HTTP or pipelines.
 */
import { EventUnknownType } from "../errors.js";

export interface EventType<T = Record<string, unknown>> {
  /** Fully qualified protobuf name, e.g. "comments.v1.CommentCreated". */
  readonly name: string;
  encode(body: T): Uint8Array;
  /** Throws on malformed bytes. */
  decode(bytes: Uint8Array): T;
}

/** The shape of a protobufjs static message class. */
interface StaticMessage<T> {
  encode(m: T): { finish(): Uint8Array };
  decode(b: Uint8Array): unknown;
  fromObject(o: Record<string, unknown>): unknown;
  toObject(m: never, o?: Record<string, unknown>): Record<string, unknown>;
  getTypeUrl(prefix?: string): string;
}

/** Wraps a generated message class as an EventType; bodies are plain objects with camelCase keys. */
export function protoType<T extends Record<string, unknown>>(cls: StaticMessage<never>): EventType<T> {
  const name = cls.getTypeUrl("").replace(/^\//, "");
  return {
    name,
    encode: (body) => cls.encode(cls.fromObject(body) as never).finish(),
    decode: (bytes) => cls.toObject(cls.decode(bytes) as never, { defaults: true, longs: Number }) as T,
  };
}

export class EventRegistry {
  readonly #types = new Map<string, EventType>();

  register(...types: EventType<never>[]): this {
    for (const t of types) this.#types.set(t.name, t as unknown as EventType);
    return this;
  }

  has(name: string): boolean {
    return this.#types.has(name);
  }

  get(name: string): EventType {
    const t = this.#types.get(name);
    if (!t) throw new EventUnknownType(JSON.stringify(name));
    return t;
  }

  names(): string[] {
    return [...this.#types.keys()];
  }
}
