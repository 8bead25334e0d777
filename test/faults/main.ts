/**
 * `make test-faults`: the fault run at full size, its report printed.
 *
 *   node --import tsx test/faults/main.ts [--clients 2000] [--channels 100] [--rate 200]
 *     [--duration 60] [--faults leader,worker,edge,rolling] [--at 8,20,32,44] [--down 5]
 *     [--dir DIR] [--env K=V ...] [--json]
 *
 * --at: when each fault happens (s since the load started; a fault also waits for the previous
 * one's repair); --down: how long a killed process stays down (negative: for good).
 *
 * Exits 1 when something did not hold (lost, duplicated or reordered
 * messages, a reset, an unbalanced audit, occupancy that never converged).
 */
import { parseArgs } from "node:util";
import { formatReport } from "./format.js";
import { ALL_FAULTS, type FaultName, faultRun } from "./scenario.js";

const { values } = parseArgs({
  options: {
    clients: { type: "string", default: "2000" },
    channels: { type: "string", default: "100" },
    rate: { type: "string", default: "200" },
    duration: { type: "string", default: "60" },
    faults: { type: "string", default: ALL_FAULTS.join(",") },
    dir: { type: "string" },
    at: { type: "string" },
    down: { type: "string", default: "5" },
    env: { type: "string", multiple: true, default: [] },
    json: { type: "boolean", default: false },
  },
});

const faults = values.faults.split(",").filter(Boolean) as FaultName[];
for (const f of faults)
  if (!ALL_FAULTS.includes(f)) throw new Error(`unknown fault ${f}; known: ${ALL_FAULTS.join(", ")}`);

const report = await faultRun({
  clients: Number(values.clients),
  channels: Number(values.channels),
  rate: Number(values.rate),
  durationMs: Number(values.duration) * 1000,
  faults,
  downMs: Number(values.down) * 1000,
  ...(values.at ? { at: values.at.split(",").map(Number) } : {}),
  ...(values.dir ? { dir: values.dir } : {}),
  env: Object.fromEntries(
    values.env.map((kv) => [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)]),
  ),
  log: (line) => process.stderr.write(`${line}\n`),
});
process.stdout.write(values.json ? `${JSON.stringify(report)}\n` : formatReport(report));
process.exitCode = report.failures.length > 0 ? 1 : 0;
