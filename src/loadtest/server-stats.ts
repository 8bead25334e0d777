/**
 * The server's CPU and memory during a load test, read once a second: from
 * /proc for the pids given (each with its descendants, so `realer edge
 * --workers N` is one entry), or from Prometheus /metrics URLs
 * (`process_cpu_seconds_total` and `process_resident_memory_bytes`, with
 * any prefix, such as realer's `realer_process_`).
 */
import { parsePromText } from "../ops/prom-text.js";
import { sampleAll, tree } from "./proc-stats.js";

export interface ServerSource {
  /** Shown in reports. */
  name: string;
  pid?: number;
  metricsUrl?: string;
}

export interface ServerReading {
  /** CPU used since the last reading, in cores (1 = one core busy); null when it could not be read. */
  cpuCores: number | null;
  /** Resident memory now, MB; null when it could not be read. */
  rssMB: number | null;
}

interface Last {
  cpuS: number;
  atMs: number;
}

const mb = (bytes: number) => Math.round(bytes / 1e5) / 10;

async function scrape(url: string): Promise<{ cpuS: number; rssBytes: number } | undefined> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(900) });
    if (!res.ok) return undefined;
    let cpuS = Number.NaN;
    let rssBytes = Number.NaN;
    for (const s of parsePromText(await res.text())) {
      if (s.name.endsWith("process_cpu_seconds_total")) cpuS = (Number.isNaN(cpuS) ? 0 : cpuS) + s.value;
      else if (s.name.endsWith("process_resident_memory_bytes"))
        rssBytes = (Number.isNaN(rssBytes) ? 0 : rssBytes) + s.value;
    }
    return { cpuS, rssBytes };
  } catch {
    return undefined;
  }
}

export class ServerStats {
  readonly sources: readonly ServerSource[];
  readonly #last = new Map<string, Last>();

  constructor(sources: readonly ServerSource[]) {
    this.sources = sources;
  }

  /** One reading of every source; CPU is the use since the previous call (null on the first). */
  async read(): Promise<Record<string, ServerReading>> {
    const out: Record<string, ServerReading> = {};
    await Promise.all(
      this.sources.map(async (src) => {
        const atMs = performance.now();
        let cpuS = Number.NaN;
        let rssBytes = Number.NaN;
        if (src.pid !== undefined) {
          const pids = tree(src.pid);
          const s = sampleAll(pids);
          // A pid that is gone reads as zero: that is "not readable", not "idle".
          if (s.rssBytes > 0) ({ cpuS, rssBytes } = s);
        } else if (src.metricsUrl) {
          const s = await scrape(src.metricsUrl);
          if (s) ({ cpuS, rssBytes } = s);
        }
        const last = this.#last.get(src.name);
        let cpuCores: number | null = null;
        if (!Number.isNaN(cpuS)) {
          if (last && cpuS >= last.cpuS && atMs > last.atMs)
            cpuCores = Math.round(((cpuS - last.cpuS) / ((atMs - last.atMs) / 1000)) * 100) / 100;
          this.#last.set(src.name, { cpuS, atMs });
        } else {
          this.#last.delete(src.name);
        }
        out[src.name] = { cpuCores, rssMB: Number.isNaN(rssBytes) ? null : mb(rssBytes) };
      }),
    );
    return out;
  }
}
