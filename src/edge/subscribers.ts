/**
 * The local subscribers of one channel: its connections in an array (the
 * fan-out loop walks it for every message) with each one's index, so a
 * connection leaves in constant time (the last one takes its place).
 */
import type { Connection } from "./connection.js";
import type { Entry } from "./types.js";

export class ChannelSubscribers {
  readonly #list: Connection[] = [];
  readonly #index = new Map<Connection, number>();

  get size(): number {
    return this.#list.length;
  }

  add(c: Connection): void {
    if (this.#index.has(c)) return;
    this.#index.set(c, this.#list.length);
    this.#list.push(c);
  }

  delete(c: Connection): void {
    const i = this.#index.get(c);
    if (i === undefined) return;
    this.#index.delete(c);
    const last = this.#list.pop()!;
    if (last !== c) {
      this.#list[i] = last;
      this.#index.set(last, i);
    }
  }

  /**
   * Hands `e` to every connection. A connection may leave during its own
   * delivery (a slow client is closed there): walking from the end, the one
   * that takes its place has been served already, so nobody is skipped.
   */
  deliver(e: Entry): void {
    if (e.frame.length === 0) return;
    const list = this.#list;
    for (let i = list.length - 1; i >= 0; i--) list[i]!.deliver(e);
  }

  /** The connections now (a copy: connections may leave while it is walked). */
  connections(): Connection[] {
    return [...this.#list];
  }
}
