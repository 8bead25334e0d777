// The import arrows of docs/architecture.md ("Import arrows") as eslint rules over src/:
// each folder of src/ imports only the folders its arrows name, plus the leaves.
// A violation fails `make lint`. Change the picture and this table together.
import { readdirSync } from "node:fs";

/** What each folder of src/ may import besides the leaves and itself. */
export const ARROWS = {
  gen: [],
  events: ["gen"],
  broker: ["events"],
  pipeline: ["broker", "events"],
  worker: ["pipeline", "broker", "events"],
  http: [],
  edge: ["broker", "events", "http"],
  producer: ["broker", "events"],
  ingest: ["producer", "events", "http"],
  replay: ["pipeline", "broker", "events"],
  ops: ["pipeline", "broker", "events"],
  admin: ["replay", "ops", "pipeline", "broker", "events"],
  // realer bench speaks only HTTP and SSE; it reads /metrics with ops' parser.
  loadtest: ["ops/prom-text"],
  demo: ["producer", "pipeline", "events"],
  web: [],
  cli: ["*"],
};

/** Importable from anywhere; they import only each other. */
export const LEAVES = ["config", "log", "metrics", "errors"];

/** Everything at the top of src/ an import can name (errors.ts and index.ts are files). */
const TOP = [...Object.keys(ARROWS), ...LEAVES, "index"];

const alternation = (names) => names.map((n) => n.replace(/[.]/g, "\\.")).join("|");

/** The start of a path to the top of src/ from a file `depth` folders below it. */
const up = (depth) => (depth === 0 ? "\\./" : "(?:\\.\\./)".repeat(depth));

/** The regex of an import naming one of `names` at the top of src/. */
const naming = (names, depth) => `^${up(depth)}(?:${alternation(names)})(?:/|\\.js$)`;

function forbidden(folder) {
  if (LEAVES.includes(folder)) return TOP.filter((t) => t !== folder && !LEAVES.includes(t));
  const allowed = ARROWS[folder];
  if (allowed.includes("*")) return ["index"];
  const whole = allowed.filter((a) => !a.includes("/"));
  return TOP.filter(
    (t) => t !== folder && !LEAVES.includes(t) && !whole.includes(t) && !allowed.some((a) => a.startsWith(`${t}/`)),
  );
}

function describeAllowed(folder) {
  if (LEAVES.includes(folder)) return "only the other leaves (config, log, metrics, errors.ts)";
  if (ARROWS[folder].includes("*")) return "anything but src/index.ts";
  const allowed = ARROWS[folder];
  return `only ${[...allowed, "config", "log", "metrics", "errors.ts"].join(", ")}`;
}

/** The no-restricted-imports options for a file in src/<folder>/, `depth` folders below src/. */
function restrictions(folder, depth, { mayPickBroker = false } = {}) {
  const patterns = [];
  const names = forbidden(folder);
  if (names.length > 0)
    patterns.push({
      regex: naming(names, depth),
      message: `src/${folder}/ may import ${describeAllowed(folder)} (docs/architecture.md, Import arrows).`,
    });
  for (const a of ARROWS[folder] ?? []) {
    const [dir, file] = a.split("/");
    if (!file) continue;
    patterns.push({
      regex: `^${up(depth)}${dir}/(?!${file}\\.js$)`,
      message: `src/${folder}/ may import only ${a} of src/${dir}/ (docs/architecture.md, Import arrows).`,
    });
  }
  if (folder !== "broker") {
    patterns.push({ group: ["@nats-io/*"], message: "Only src/broker/ imports @nats-io/*." });
    if (!mayPickBroker)
      patterns.push({
        regex: `^${up(depth)}broker/(?:jetstream|memory)`,
        message:
          "Only src/cli/wiring.ts picks a broker implementation; take a Broker (src/broker/types.ts) as an argument.",
      });
  }
  return ["error", { patterns }];
}

/** eslint config objects: one per folder and depth, then the two files allowed to name a broker implementation. */
export function importArrows() {
  // A folder the table does not name would be checked by nothing: refuse it until it has its row.
  const src = new URL("./src/", import.meta.url);
  for (const d of readdirSync(src, { withFileTypes: true }))
    if (d.isDirectory() && !(d.name in ARROWS) && !LEAVES.includes(d.name))
      throw new Error(`src/${d.name}/ has no row in eslint-arrows.js (and docs/architecture.md, Import arrows)`);
  const configs = [];
  for (const folder of [...Object.keys(ARROWS), ...LEAVES.filter((l) => l !== "errors")]) {
    for (const depth of [1, 2, 3]) {
      configs.push({
        files: [`src/${folder}/${"*/".repeat(depth - 1)}*.ts`],
        rules: { "no-restricted-imports": restrictions(folder, depth) },
      });
    }
  }
  configs.push(
    { files: ["src/errors.ts"], rules: { "no-restricted-imports": restrictions("errors", 0) } },
    // The library's entry exports both brokers for applications to choose from.
    {
      files: ["src/index.ts"],
      rules: { "no-restricted-imports": restrictions("cli", 0, { mayPickBroker: true }) },
    },
    {
      files: ["src/cli/wiring.ts"],
      rules: { "no-restricted-imports": restrictions("cli", 1, { mayPickBroker: true }) },
    },
  );
  return configs;
}
