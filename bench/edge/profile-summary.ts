/**
 * Where an edge process spends its CPU: reads the `.cpuprofile` files that
 * `bench/edge.bench.ts --profile-edge DIR` leaves and prints the functions
 * with the most self time, across all of them.
 *
 *   node --import tsx bench/edge/profile-summary.ts DIR [TOP]
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}

const dir = process.argv[2];
if (!dir) {
  console.error("usage: profile-summary.ts DIR [TOP]");
  process.exit(2);
}
const top = Number(process.argv[3] ?? 20);
const self = new Map<string, number>();
let total = 0;
for (const f of readdirSync(dir).filter((x) => x.endsWith(".cpuprofile"))) {
  const p = JSON.parse(readFileSync(join(dir, f), "utf8")) as { nodes: ProfileNode[]; samples: number[] };
  const names = new Map(
    p.nodes.map((n) => {
      const c = n.callFrame;
      return [n.id, `${c.functionName || "(anonymous)"} ${c.url.split("/").pop() ?? ""}:${c.lineNumber + 1}`];
    }),
  );
  for (const id of p.samples) {
    const k = names.get(id) ?? "?";
    self.set(k, (self.get(k) ?? 0) + 1);
    total++;
  }
}
// Time the process sat waiting is not CPU: leave it out of the shares.
const idle = [...self].filter(([k]) => k.startsWith("(idle)")).reduce((s, [, v]) => s + v, 0);
const busy = total - idle;
console.log(`${busy} busy samples (${idle} idle left out)`);
for (const [k, v] of [...self]
  .filter(([k]) => !k.startsWith("(idle)"))
  .sort((a, b) => b[1] - a[1])
  .slice(0, top)) {
  console.log(`${((100 * v) / busy).toFixed(1).padStart(5)}%  ${k}`);
}
