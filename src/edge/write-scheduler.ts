/**
 * Batches socket writes: connections that have frames queued are marked
 * dirty and flushed together once per event-loop turn, so all frames queued
 * for one connection in that turn leave in one write. It also counts what
 * was written and how long frames waited, once per round rather than per
 * write, to keep the fan-out path cheap.
 *
 * Connections of one channel are marked, and so flushed, one after another
 * and usually hold the same frames: `join` reuses the previous connection's
 * joined buffer when the frames are the same, so a round of fan-out
 * allocates and copies one buffer per distinct frame list, not one per
 * connection.
 */
import { performance } from "node:perf_hooks";
import { edgeMetrics } from "./metrics.js";

export interface Flushable {
  flush(): void;
  /** Set by the scheduler while the connection is in its next round. */
  marked: boolean;
}

export class WriteScheduler {
  /*
   * The rounds are two arrays used in turn and never shrunk: no Set or array
   * is allocated per round or per connection, so fan-out makes no garbage
   * here (a Set per round and its growth were promoted to the old generation
   * under load).
   */
  #dirty: (Flushable | undefined)[] = [];
  #dirtyCount = 0;
  #spare: (Flushable | undefined)[] = [];
  #scheduled = false;
  #since = 0;
  #frames = 0;
  #bytes = 0;
  #lastFrames: readonly Buffer[] | undefined;
  #lastJoined: Buffer | undefined;

  mark(c: Flushable): void {
    if (c.marked) return;
    c.marked = true;
    this.#dirty[this.#dirtyCount++] = c;
    if (this.#scheduled) return;
    this.#scheduled = true;
    this.#since = performance.now();
    setImmediate(this.#run);
  }

  /** `frames` as one buffer of `bytes` bytes; `frames` must not be modified afterwards. */
  join(frames: readonly Buffer[], bytes: number): Buffer {
    if (frames.length === 1) return frames[0]!;
    const last = this.#lastFrames;
    if (last && this.#lastJoined && sameFrames(last, frames)) return this.#lastJoined;
    const joined = Buffer.concat(frames as Buffer[], bytes);
    this.#lastFrames = frames;
    this.#lastJoined = joined;
    return joined;
  }

  /** Called by connections for every write they make. */
  wrote(frames: number, bytes: number): void {
    this.#frames += frames;
    this.#bytes += bytes;
  }

  readonly #run = (): void => {
    this.#scheduled = false;
    // Swap arrays: a flush may mark its connection again (for the next round).
    const round = this.#dirty;
    const n = this.#dirtyCount;
    this.#dirty = this.#spare;
    this.#dirtyCount = 0;
    for (let i = 0; i < n; i++) {
      const c = round[i]!;
      round[i] = undefined;
      c.marked = false;
      c.flush();
    }
    this.#spare = round;
    this.#lastFrames = undefined;
    this.#lastJoined = undefined;
    this.#report((performance.now() - this.#since) / 1000);
  };

  #report(seconds: number): void {
    if (this.#frames === 0) return;
    edgeMetrics.frames.inc(this.#frames);
    edgeMetrics.bytes.inc(this.#bytes);
    edgeMetrics.writeLatency.observe(seconds);
    this.#frames = 0;
    this.#bytes = 0;
  }
}

function sameFrames(a: readonly Buffer[], b: readonly Buffer[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
