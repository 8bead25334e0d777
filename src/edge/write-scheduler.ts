/**
 * Batches socket writes: connections that have frames queued are marked
 * dirty and flushed together once per event-loop turn, so all frames queued
 * for one connection in that turn leave in one write. It also counts what
 * was written and how long frames waited, once per round rather than per
 * write, to keep the fan-out path cheap.
 */
import { performance } from "node:perf_hooks";
import { edgeMetrics } from "./metrics.js";

export interface Flushable {
  flush(): void;
}

export class WriteScheduler {
  #dirty = new Set<Flushable>();
  #spare = new Set<Flushable>();
  #scheduled = false;
  #since = 0;
  #frames = 0;
  #bytes = 0;

  mark(c: Flushable): void {
    this.#dirty.add(c);
    if (this.#scheduled) return;
    this.#scheduled = true;
    this.#since = performance.now();
    setImmediate(this.#run);
  }

  /** Called by connections for every write they make. */
  wrote(frames: number, bytes: number): void {
    this.#frames += frames;
    this.#bytes += bytes;
  }

  readonly #run = (): void => {
    this.#scheduled = false;
    // Swap sets: a flush may mark its connection again (for the next round).
    const round = this.#dirty;
    this.#dirty = this.#spare;
    for (const c of round) c.flush();
    round.clear();
    this.#spare = round;
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
