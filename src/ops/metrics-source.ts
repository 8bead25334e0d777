/**
 * Where the audit and the admin page read counters: this process's own
 * registry, or the /metrics endpoint of another process.
 */
import { MetricsUnavailable } from "../errors.js";
import { registry } from "../metrics/registry.js";
import { parsePromText, type Sample } from "./prom-text.js";

export interface ProcessSamples {
  /** "local", or the URL read. */
  source: string;
  samples: Sample[];
}

export type MetricsSource = () => Promise<ProcessSamples>;

export const localMetrics: MetricsSource = async () => ({
  source: "local",
  samples: parsePromText(await registry.metrics()),
});

export function urlMetrics(url: string, timeoutMs = 5_000): MetricsSource {
  return async () => {
    let res: Response;
    try {
      res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    } catch (err) {
      throw new MetricsUnavailable(url, (err as Error).message, { cause: err });
    }
    if (!res.ok) throw new MetricsUnavailable(url, `HTTP ${res.status}`);
    return { source: url, samples: parsePromText(await res.text()) };
  };
}
