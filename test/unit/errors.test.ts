import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import {
  BrokerUnavailable,
  ClientTooSlow,
  CliUsage,
  catalogue,
  dispositionOf,
  EventDecode,
  exitCodeOf,
  httpStatusOf,
  TooManyChannels,
} from "../../src/errors.js";

const doc = readFileSync(new URL("../../docs/errors.md", import.meta.url), "utf8");

/** The table's cells of `code`'s row: code, HTTP, exit, disposition, meaning. */
function row(code: string): string[] | undefined {
  const line = doc.split("\n").find((l) => l.startsWith(`| \`${code}\``));
  return line?.split(" | ").map((c) => c.replace(/^\| |\s*\|$/g, "").trim());
}

describe("the error catalogue", () => {
  it("documents every code in docs/errors.md", () => {
    for (const code of catalogue.keys())
      assert.ok(doc.includes(`\`${code}\``), `${code} is missing from docs/errors.md`);
  });

  it("has a catalogue entry for every code docs/errors.md names", () => {
    const named = new Set(doc.match(/REALER_ERR_[A-Z_]+/g));
    for (const code of named)
      assert.ok(catalogue.has(code), `${code} is documented but not in src/errors.ts`);
  });

  it("documents each code with its HTTP status, exit code and disposition", () => {
    for (const [code, spec] of catalogue) {
      const cells = row(code);
      assert.ok(cells, code);
      assert.deepEqual(
        cells.slice(1, 4),
        [
          spec.httpStatus === undefined ? "—" : String(spec.httpStatus),
          String(spec.exitCode),
          spec.disposition,
        ],
        code,
      );
    }
  });

  it("serves each error as its disposition says: client and drop as 4xx, retry as 5xx, fatal never over HTTP", () => {
    for (const [code, { httpStatus, disposition, exitCode }] of catalogue) {
      assert.ok(exitCode >= 1, `${code}: a command ending on an error exits non-zero`);
      if (httpStatus === undefined) continue;
      const range = disposition === "client" || disposition === "drop" ? [400, 499] : [500, 599];
      assert.notEqual(disposition, "fatal", `${code}: a fatal error stops the process; it is no HTTP answer`);
      assert.ok(
        httpStatus >= range[0]! && httpStatus <= range[1]!,
        `${code}: ${disposition} served as ${httpStatus}`,
      );
    }
  });

  it("gives every code the REALER_ERR_ prefix", () => {
    for (const code of catalogue.keys()) assert.match(code, /^REALER_ERR_[A-Z_]+$/);
  });

  it("reads the disposition of our errors and retries unknown ones", () => {
    assert.equal(dispositionOf(new EventDecode("x")), "drop");
    assert.equal(dispositionOf(new BrokerUnavailable("down")), "retry");
    assert.equal(dispositionOf(new Error("boom")), "retry");
  });

  it("reads an error's HTTP status and exit code, 500 and 1 for others", () => {
    assert.equal(httpStatusOf(new TooManyChannels(40, 32)), 400);
    assert.equal(httpStatusOf(new ClientTooSlow()), 500);
    assert.equal(httpStatusOf(new Error("boom")), 500);
    assert.equal(exitCodeOf(new CliUsage("no")), 2);
    assert.equal(exitCodeOf(new BrokerUnavailable("down")), 1);
    assert.equal(exitCodeOf(new Error("boom")), 1);
  });
});
