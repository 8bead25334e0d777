/**
 * A connection's queue of frames waiting for the next write: one frame in
 * `#one`, or several in `#many`. A connection usually has one frame queued
 * per write; keeping it in a field rather than an array allocated per write
 * leaves the collector nothing to do per delivery (arrays made per write
 * outlived young-generation collections and were promoted, growing the old
 * generation by megabytes a second).
 */
export class FrameQueue {
  #one: Buffer | undefined;
  #many: Buffer[] | undefined;
  #bytes = 0;

  /** Frames queued. */
  get count(): number {
    return this.#many ? this.#many.length : this.#one ? 1 : 0;
  }

  /** Bytes queued. */
  get bytes(): number {
    return this.#bytes;
  }

  push(frame: Buffer): void {
    if (this.#many) this.#many.push(frame);
    else if (this.#one) {
      this.#many = [this.#one, frame];
      this.#one = undefined;
    } else this.#one = frame;
    this.#bytes += frame.length;
  }

  /** The frames queued, in order (nothing is removed). */
  frames(): readonly Buffer[] {
    return this.#many ?? (this.#one ? [this.#one] : []);
  }

  /** The one frame queued, when exactly one is. */
  get one(): Buffer | undefined {
    return this.#one;
  }

  /** The frames queued, when more than one is. */
  get many(): readonly Buffer[] | undefined {
    return this.#many;
  }

  clear(): void {
    this.#one = undefined;
    this.#many = undefined;
    this.#bytes = 0;
  }
}
