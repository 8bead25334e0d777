// Generates the static protobuf module and its typings from proto/.
// The output in src/gen/ is never edited by hand and never committed.
import { execFileSync } from "node:child_process";
import { mkdirSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";

const root = new URL("..", import.meta.url).pathname;
const out = join(root, "src/gen");
mkdirSync(out, { recursive: true });

const protos = [];
const walk = (dir) => {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p);
    else if (name.endsWith(".proto")) protos.push(p);
  }
};
walk(join(root, "proto"));
protos.sort();

const bin = (name) => join(root, "node_modules/.bin", name);
const js = join(out, "protos.js");
execFileSync(
  bin("pbjs"),
  [
    "-t",
    "static-module",
    "-w",
    "es6",
    "--force-number",
    "--no-verify",
    "--no-delimited",
    "--no-beautify",
    "-p",
    join(root, "proto"),
    "-o",
    js,
    ...protos,
  ],
  { stdio: "inherit" },
);
execFileSync(bin("pbts"), ["--no-comments", "-o", join(out, "protos.d.ts"), js], { stdio: "inherit" });
