/**
 * Progress of a replay as one line: done/total, percent, rate and ETA. On a
 * terminal the line is redrawn in place; elsewhere (logs, CI, tests) a line
 * is printed at most every `intervalMs` and once at the end.
 */
export interface ProgressSink {
  write(s: string): unknown;
  isTTY?: boolean;
}

export interface ProgressSnapshot {
  done: number;
  total: number;
  /** Items per second since the start. */
  rate: number;
  /** Seconds left at the current rate; undefined until a rate is known. */
  etaSeconds: number | undefined;
}

export function formatDuration(seconds: number | undefined): string {
  if (seconds === undefined || !Number.isFinite(seconds)) return "--:--";
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const pad = (n: number) => String(n).padStart(2, "0");
  return h > 0 ? `${h}:${pad(m)}:${pad(s % 60)}` : `${pad(m)}:${pad(s % 60)}`;
}

export function progressLine(label: string, p: ProgressSnapshot, width = 20): string {
  const frac = p.total > 0 ? Math.min(1, p.done / p.total) : 1;
  const filled = Math.round(frac * width);
  const bar = `${"#".repeat(filled)}${"-".repeat(width - filled)}`;
  const rate = p.rate >= 100 ? p.rate.toFixed(0) : p.rate.toFixed(1);
  return `${label} [${bar}] ${(frac * 100).toFixed(0)}% ${p.done}/${p.total} | ${rate} ev/s | ETA ${formatDuration(p.etaSeconds)}`;
}

export class Progress {
  readonly #label: string;
  readonly #sink: ProgressSink;
  readonly #intervalMs: number;
  readonly #start = Date.now();
  readonly #base: number;
  #last = 0;
  #total: number;

  /** `base`: items done before this run (a resumed replay); the rate counts only this run's. */
  constructor(
    label: string,
    total: number,
    sink: ProgressSink,
    opts: { intervalMs?: number; base?: number } = {},
  ) {
    this.#label = label;
    this.#total = total;
    this.#sink = sink;
    this.#intervalMs = opts.intervalMs ?? (sink.isTTY ? 100 : 1000);
    this.#base = opts.base ?? 0;
  }

  snapshot(done: number): ProgressSnapshot {
    const secs = (Date.now() - this.#start) / 1000;
    const ran = done - this.#base;
    // Under a quarter second the rate is noise (one item in a few ms reads as hundreds per second).
    const rate = secs >= 0.25 ? ran / secs : 0;
    return { done, total: this.#total, rate, etaSeconds: rate > 0 ? (this.#total - done) / rate : undefined };
  }

  update(done: number): void {
    const now = Date.now();
    if (now - this.#last < this.#intervalMs) return;
    this.#last = now;
    this.#emit(done, false);
  }

  finish(done: number): void {
    this.#emit(done, true);
  }

  #emit(done: number, final: boolean): void {
    const line = progressLine(this.#label, this.snapshot(done));
    if (this.#sink.isTTY) this.#sink.write(`\r${line}${final ? "\n" : ""}`);
    else this.#sink.write(`${line}\n`);
  }
}
