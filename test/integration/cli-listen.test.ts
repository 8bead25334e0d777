/** Where the long-running commands listen: REALER_HOST and REALER_PORT, and flags over them. */
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { type RealerProcess, spawnRealer } from "../helpers/realer-process.js";

describe("listen address of realer processes", () => {
  const procs: RealerProcess[] = [];
  after(async () => {
    for (const p of procs) await p.stop("SIGKILL");
  });
  async function devUrl(args: string[], env: Record<string, string>): Promise<URL> {
    const p = spawnRealer(["dev", ...args], env);
    procs.push(p);
    const url = new URL(String((await p.waitForLog("edge listening", 60_000)).url));
    assert.equal((await fetch(new URL("/healthz", url))).status, 200);
    await p.stop();
    return url;
  }

  it("listens on REALER_HOST and REALER_PORT when no flag is given", async () => {
    const url = await devUrl([], { REALER_HOST: "127.0.0.2", REALER_PORT: "0" });
    assert.equal(url.hostname, "127.0.0.2");
  });

  it("takes --host over REALER_HOST", async () => {
    const url = await devUrl(["--host", "127.0.0.3"], { REALER_HOST: "127.0.0.2", REALER_PORT: "0" });
    assert.equal(url.hostname, "127.0.0.3");
  });
});
