/**
 * The fault run (scenario.ts) in the suite, at a smaller size than `make
 * test-faults` (2,000 subscribers, 200 events/s, 60 s): an edge killed and
 * both edges restarted in turn under load, through HAProxy, on a three-server
 * cluster. The leader and worker kills run only in `make test-faults`: they
 * still reorder a channel's messages across workers (docs/faults.md).
 */
import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { it } from "node:test";
import { formatReport } from "./format.js";
import { faultRun } from "./scenario.js";

it("delivers every message once and in order through an edge's death and a rolling restart of the edges", async (t) => {
  const report = await faultRun({
    clients: 500,
    channels: 100,
    rate: 100,
    durationMs: 40_000,
    faults: ["edge", "rolling"],
    at: [8, 20],
  });
  for (const line of formatReport(report).trimEnd().split("\n")) t.diagnostic(line);
  assert.deepEqual(report.failures, [], formatReport(report));
  // The logs stay for a run that failed.
  rmSync(report.dir, { recursive: true, force: true });
  // The stated bound, and every fault measured.
  assert.ok(report.occupancyConverged !== null);
  assert.deepEqual(
    report.faults.map((f) => f.fault),
    ["edge", "rolling"],
  );
});
