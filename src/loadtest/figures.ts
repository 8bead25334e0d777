/** How a bench run's figures are written, the same in the terminal summary and in the HTML report. */
import type { BurstStep } from "./bench.js";

export const num = (n: number): string => n.toLocaleString("en-US");

/** Milliseconds: one decimal below 10, whole above, "-" when there is no figure. */
export const msText = (v: number | null): string =>
  v === null ? "-" : v < 10 ? v.toFixed(1) : num(Math.round(v));

export const STEP_HEAD = [
  "msg/s asked",
  "msg/s sent",
  "deliveries/s",
  "missing 5 s after",
  "duplicated",
  "p50 ms",
  "p99 ms",
  "max ms",
  "kept up",
];

export const stepRow = (s: BurstStep): string[] => [
  num(s.rate),
  num(s.sentRate),
  num(s.deliveriesPerS),
  num(s.missing),
  num(s.duplicates),
  msText(s.latency.p50Ms),
  msText(s.latency.p99Ms),
  msText(s.latency.maxMs),
  s.keptUp ? "yes" : "no",
];
