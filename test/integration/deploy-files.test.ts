/**
 * Every file in deploy/ (and the Dockerfile) is read by the program it is for: YAML by the
 * `yaml` package, HAProxy's config by `haproxy -c`, nginx's by `nginx -t`, the NATS config by
 * `nats-server -t`, the units by `systemd-analyze verify` (or parsed, where systemd is not
 * installed); the Dockerfile's build stage builds realer from what it copies.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { after, describe, it } from "node:test";
import { HAPROXY_CFG } from "../helpers/haproxy.js";
import { nginxTest, writeNginxConfig } from "../helpers/nginx.js";
import { spawnRealer } from "../helpers/realer-process.js";
import { findTool, requireTool } from "../helpers/tools.js";
import {
  DEPLOY,
  deployFiles,
  dockerStages,
  execForm,
  parseUnit,
  ROOT,
  read,
  rel,
  unitFiles,
  yamlDocuments,
} from "./deploy-fixture.js";

const temp: string[] = [];
const tempDir = (name: string) => {
  const d = mkdtempSync(join(tmpdir(), `realer-${name}-`));
  temp.push(d);
  return d;
};
after(() => {
  for (const d of temp) rmSync(d, { recursive: true, force: true });
});

describe("deploy/: every file parses", () => {
  it("parses every YAML file without an error or a warning", () => {
    const files = deployFiles().filter((f) => /\.ya?ml$/.test(f));
    assert.ok(files.length >= 6, `YAML files: ${files.map(rel).join(", ")}`);
    for (const f of files) {
      const { docs, problems } = yamlDocuments(f);
      assert.deepEqual(problems, [], rel(f));
      assert.ok(
        docs.length > 0 && docs.every((d) => d !== null && typeof d === "object"),
        `${rel(f)}: a mapping`,
      );
    }
  });

  it("parses the Grafana dashboard as JSON", () => {
    const d = JSON.parse(read(join(DEPLOY, "grafana-dashboard.json"))) as { panels?: unknown[] };
    assert.ok(Array.isArray(d.panels) && d.panels.length > 0);
  });

  it("haproxy -c accepts the HAProxy config, without a warning, with its addresses given", () => {
    const r = spawnSync(requireTool("haproxy"), ["-c", "-f", HAPROXY_CFG], {
      encoding: "utf8",
      env: { ...process.env, EDGE1: "127.0.0.1:18081", EDGE2: "127.0.0.1:18082" },
    });
    assert.equal(r.status, 0, r.stderr);
    assert.doesNotMatch(`${r.stdout}${r.stderr}`, /WARNING|ALERT/);
  });

  it("nginx -t accepts the main config and the realer template rendered", () => {
    const nginx = requireTool("nginx");
    const main = spawnSync(nginx, ["-t", "-c", join(DEPLOY, "nginx/nginx.conf")], { encoding: "utf8" });
    assert.equal(main.status, 0, main.stderr);
    const dir = tempDir("nginx");
    const rendered = nginxTest(
      writeNginxConfig(dir, ["127.0.0.1:18081", "127.0.0.1:18082"], "127.0.0.1:18080"),
      dir,
    );
    assert.equal(rendered.status, 0, rendered.output);
    assert.doesNotMatch(rendered.output, /\[(warn|emerg|alert)\]/);
  });

  it("nats-server -t accepts the NATS config with its variables set, and refuses it without", () => {
    const conf = join(DEPLOY, "nats-server.conf");
    const vars = [
      ...new Set(
        read(conf)
          .replace(/#.*$/gm, "")
          .match(/\$[A-Z_]+/g),
      ),
    ].map((v) => v.slice(1));
    assert.deepEqual(vars.sort(), ["NATS_OPERATOR_PASSWORD", "NATS_REALER_PASSWORD", "NATS_SERVER_NAME"]);
    const bin = requireTool("nats-server");
    const env = Object.fromEntries(vars.map((v) => [v, `test-${v.toLowerCase()}`]));
    const ok = spawnSync(bin, ["-t", "-c", conf], { encoding: "utf8", env: { ...process.env, ...env } });
    assert.equal(ok.status, 0, ok.stderr);
    const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !vars.includes(k)));
    const missing = spawnSync(bin, ["-t", "-c", conf], { encoding: "utf8", env: clean });
    assert.notEqual(missing.status, 0);
    assert.match(missing.stderr, /NATS_SERVER_NAME/);
  });

  it("verifies the systemd units (systemd-analyze verify, or a parse where systemd is missing)", () => {
    const files = unitFiles();
    assert.deepEqual(files.map((f) => basename(f)).sort(), [
      "nats-server.service",
      "realer-edge.service",
      "realer-ingest.service",
      "realer-worker.service",
    ]);
    for (const f of files) {
      const { unit, problems } = parseUnit(f);
      assert.deepEqual(problems, []);
      assert.deepEqual([...unit.sections.keys()], ["Unit", "Service", "Install"], rel(f));
      for (const key of ["ExecStart", "Restart", "TimeoutStopSec", "NoNewPrivileges", "ProtectSystem"])
        assert.ok(unit.get("Service", key), `${rel(f)}: ${key}`);
      assert.match(unit.get("Service", "ExecStart")!, /^\//, `${rel(f)}: ExecStart names an absolute path`);
    }
    const analyze = findTool("systemd-analyze");
    if (!analyze) return;
    // verify also checks that each ExecStart program exists: where it lives elsewhere on this
    // machine (node from nvm, say), the copy names that path instead.
    const dir = tempDir("units");
    for (const f of files) {
      let text = read(f);
      const exe = /^ExecStart=(\S+)/m.exec(text)![1]!;
      if (!existsSync(exe)) {
        const here = basename(exe) === "node" ? process.execPath : findTool(basename(exe));
        assert.ok(here, `${basename(exe)} is not installed here`);
        text = text.replace(`ExecStart=${exe}`, `ExecStart=${here}`);
      }
      writeFileSync(join(dir, basename(f)), text);
    }
    const r = spawnSync(analyze, ["verify", ...files.map((f) => join(dir, basename(f)))], {
      encoding: "utf8",
    });
    assert.equal(r.status, 0, r.stderr);
    // Unknown settings are only warnings to verify: it must have nothing to say at all.
    assert.equal(`${r.stdout}${r.stderr}`.trim(), "");
  });

  it("builds realer on node:20-slim from exactly what the Dockerfile copies, and runs its command", async () => {
    const [build, final] = dockerStages() as [
      ReturnType<typeof dockerStages>[0],
      ReturnType<typeof dockerStages>[0],
    ];
    assert.equal(dockerStages().length, 2);
    assert.equal(build.from, "node:20-slim");
    assert.equal(final.from, "node:20-slim");
    const ignored = read(join(ROOT, ".dockerignore")).split("\n").filter(Boolean);
    const dir = tempDir("image");
    for (const s of build.steps.filter((x) => x.op === "COPY")) {
      const parts = s.args.split(/\s+/);
      for (const src of parts.slice(0, -1)) {
        assert.ok(!ignored.includes(src), `${src} is copied but .dockerignore leaves it out`);
        cpSync(join(ROOT, src), join(dir, src), { recursive: true });
      }
    }
    const runs = build.steps
      .filter((x) => x.op === "RUN")
      .flatMap((x) => x.args.split("&&").map((c) => c.trim()));
    assert.match(runs[0]!, /^npm ci\b/, "dependencies from the lockfile");
    // npm ci and npm prune need the registry: the checkout's node_modules stands in for them.
    symlinkSync(join(ROOT, "node_modules"), join(dir, "node_modules"));
    for (const cmd of runs.filter((c) => !/^npm (ci|prune)\b/.test(c))) {
      const r = spawnSync("sh", ["-c", cmd], { cwd: dir, encoding: "utf8", timeout: 240_000 });
      assert.equal(r.status, 0, `${cmd}: ${r.stdout}${r.stderr}`);
    }
    for (const s of final.steps.filter((x) => x.op === "COPY"))
      assert.match(s.args, /^--from=build \/app\/(package\.json|node_modules|dist) /, s.args);
    const entry = execForm(final.steps.find((x) => x.op === "ENTRYPOINT")!.args);
    const cmd = execForm(final.steps.find((x) => x.op === "CMD")!.args);
    assert.deepEqual(entry, ["node", "dist/cli/main.js"]);
    // The image's command, run from the build: it serves.
    const p = spawnRealer(cmd, { REALER_HOST: "127.0.0.1", REALER_PORT: "0" }, join(dir, "dist/cli/main.js"));
    try {
      const url = String((await p.waitForLog("edge listening", 60_000)).url);
      assert.equal((await fetch(`${url}/healthz`)).status, 200);
      assert.equal((await fetch(`${url}/client.js`)).status, 200, "the web assets are in the build");
    } finally {
      await p.stop();
    }
  });
});
