import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { catalogue, dispositionOf, EventDecode } from "../../src/errors.js";

const doc = readFileSync(new URL("../../docs/errors.md", import.meta.url), "utf8");

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

  it("documents each code with its HTTP status and disposition", () => {
    for (const [code, spec] of catalogue) {
      const row = doc.split("\n").find((l) => l.startsWith(`| \`${code}\``));
      assert.ok(row, code);
      assert.ok(row.includes(`| ${spec.disposition} |`), `${code}: disposition ${spec.disposition}`);
      if (spec.status >= 100) assert.ok(row.includes(`| ${spec.status} |`), `${code}: status ${spec.status}`);
    }
  });

  it("gives every code the REALER_ERR_ prefix", () => {
    for (const code of catalogue.keys()) assert.match(code, /^REALER_ERR_[A-Z_]+$/);
  });

  it("reads the disposition of our errors and retries unknown ones", () => {
    assert.equal(dispositionOf(new EventDecode("x")), "drop");
    assert.equal(dispositionOf(new Error("boom")), "retry");
  });
});
