/**
 * Metrics: one prom-client registry per process (served at /metrics).
 * Ledger counters come in +1/-1 pairs so a run that loses something shows up
 * as a balance that is not zero (see docs/architecture.md, "The ledger").
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";

export const registry = new Registry();
collectDefaultMetrics({ register: registry, prefix: "realer_process_" });

const counters = new Map<string, Counter<string>>();
const gauges = new Map<string, Gauge<string>>();
const histograms = new Map<string, Histogram<string>>();

/**
 * The counter of that name, created on first use (so modules can share one by name).
 * `collect`, given by the first caller, runs before every scrape: hot paths can
 * count in plain numbers and copy them into the counter only when it is read.
 */
export function counter(
  name: string,
  help: string,
  labelNames: string[] = [],
  collect?: (c: Counter<string>) => void,
): Counter<string> {
  let c = counters.get(name);
  if (!c) {
    c = new Counter({
      name,
      help,
      labelNames,
      registers: [registry],
      ...(collect
        ? {
            collect: function (this: Counter<string>) {
              collect(this);
            },
          }
        : {}),
    });
    counters.set(name, c);
  }
  return c;
}

export function gauge(name: string, help: string, labelNames: string[] = []): Gauge<string> {
  let g = gauges.get(name);
  if (!g) {
    g = new Gauge({ name, help, labelNames, registers: [registry] });
    gauges.set(name, g);
  }
  return g;
}

export function histogram(
  name: string,
  help: string,
  labelNames: string[] = [],
  buckets?: number[],
): Histogram<string> {
  let h = histograms.get(name);
  if (!h) {
    h = new Histogram({ name, help, labelNames, registers: [registry], ...(buckets ? { buckets } : {}) });
    histograms.set(name, h);
  }
  return h;
}
