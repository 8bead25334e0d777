/**
 * Readers of deploy/ (and the Dockerfile) for the tests that check them: the Compose file with
 * its merge keys resolved, the Kubernetes manifests, the systemd units, the Dockerfile's stages,
 * the NATS config's ports, and every realer command line these files run, with its environment.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { parse, parseAllDocuments } from "yaml";

export const ROOT = fileURLToPath(new URL("../../", import.meta.url));
export const DEPLOY = join(ROOT, "deploy");

/** Every file under deploy/, as absolute paths. */
export function deployFiles(): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(dir, e.name));
      else out.push(join(dir, e.name));
    }
  };
  walk(DEPLOY);
  return out.sort();
}

export const rel = (path: string) => relative(ROOT, path);
export const read = (path: string) => readFileSync(path, "utf8");

/** A YAML file's documents, merge keys (`<<:`) resolved, with the parser's errors and warnings. */
export function yamlDocuments(path: string): { docs: unknown[]; problems: string[] } {
  const parsed = parseAllDocuments(read(path), { merge: true, prettyErrors: true });
  const list = Array.isArray(parsed) ? parsed : [parsed];
  return {
    docs: list.map((d) => d.toJS()),
    problems: list.flatMap((d) => [...d.errors, ...d.warnings].map((e) => e.message)),
  };
}

// --- Docker Compose ---

export interface ComposeService {
  image?: string;
  build?: unknown;
  command?: string[];
  environment?: Record<string, string>;
  ports?: string[];
  healthcheck?: { test: string[] };
  stop_grace_period?: string;
  stop_signal?: string;
  volumes?: string[];
}

export function compose(): { services: Record<string, ComposeService> } {
  return parse(read(join(DEPLOY, "compose.yaml")), { merge: true });
}

/** Whether a Compose service runs realer's image (built from the Dockerfile). */
export const runsRealer = (s: ComposeService) => s.build !== undefined || /^realer[:@]/.test(s.image ?? "");

/** "60s", "1m30s", "500ms" (Compose durations) in ms. */
export function durationMs(d: string): number {
  let ms = 0;
  for (const [, n, unit] of d.matchAll(/(\d+(?:\.\d+)?)(ms|h|m|s)/g))
    ms += Number(n) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[unit as "ms" | "s" | "m" | "h"];
  return ms;
}

// --- Kubernetes ---

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  // biome-ignore lint/suspicious/noExplicitAny: manifests are checked field by field by the tests
  spec?: any;
  data?: Record<string, string>;
}

const K8S_DIR = join(DEPLOY, "kubernetes");
const NOT_MANIFESTS = new Set(["kustomization.yaml", "nats-values.yaml"]);

/** Every object of the manifests in deploy/kubernetes (the Helm values and kustomization left out). */
export function k8sObjects(): K8sObject[] {
  return readdirSync(K8S_DIR)
    .filter((f) => f.endsWith(".yaml") && !NOT_MANIFESTS.has(f))
    .flatMap((f) => yamlDocuments(join(K8S_DIR, f)).docs as K8sObject[]);
}

export const k8sFile = (name: string) => parse(read(join(K8S_DIR, name)));

/** Whether every label of `selector` is on `labels`. */
export const selects = (selector: Record<string, string>, labels: Record<string, string> = {}) =>
  Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => labels[k] === v);

// --- systemd ---

export interface Unit {
  file: string;
  /** Section name -> its settings in order, as [key, value]. */
  sections: Map<string, Array<[string, string]>>;
  get(section: string, key: string): string | undefined;
}

/** Parses a unit file; answers the lines it could not read as problems. */
export function parseUnit(file: string): { unit: Unit; problems: string[] } {
  const sections = new Map<string, Array<[string, string]>>();
  const problems: string[] = [];
  let current: Array<[string, string]> | undefined;
  read(file)
    .split("\n")
    .forEach((line, i) => {
      const l = line.trim();
      if (!l || l.startsWith("#") || l.startsWith(";")) return;
      const section = /^\[([A-Za-z]+)\]$/.exec(l);
      if (section) {
        current = [];
        sections.set(section[1]!, current);
        return;
      }
      const kv = /^([A-Za-z][A-Za-z0-9]*)=(.*)$/.exec(l);
      if (!kv || !current) problems.push(`${rel(file)}:${i + 1}: not a setting in a section: ${l}`);
      else current.push([kv[1]!, kv[2]!]);
    });
  const unit: Unit = {
    file,
    sections,
    get: (s, k) => sections.get(s)?.findLast(([key]) => key === k)?.[1],
  };
  return { unit, problems };
}

export const unitFiles = () => deployFiles().filter((f) => f.endsWith(".service"));

/** KEY=value lines of an environment file (deploy/systemd/realer.env), comments left out. */
export function envFile(path: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of read(path).split("\n")) {
    const m = /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line.trim());
    if (m) out[m[1]!] = m[2]!;
  }
  return out;
}

// --- Dockerfile ---

export interface DockerStage {
  from: string;
  as?: string | undefined;
  steps: Array<{ op: string; args: string }>;
}

export function dockerStages(): DockerStage[] {
  const text = read(join(ROOT, "Dockerfile")).replace(/\\\n/g, " ");
  const stages: DockerStage[] = [];
  for (const line of text.split("\n")) {
    const m = /^([A-Z]+)\s+(.*)$/.exec(line.trim());
    if (!m || line.trim().startsWith("#")) continue;
    const [, op, args] = m as unknown as [string, string, string];
    if (op === "FROM") {
      const [from, , as] = args.split(/\s+/);
      stages.push({ from: from!, as, steps: [] });
    } else stages.at(-1)?.steps.push({ op, args: args.trim() });
  }
  return stages;
}

/** A Dockerfile instruction's JSON form (`["node", "x"]`). */
export const execForm = (args: string): string[] => JSON.parse(args) as string[];

// --- nats-server.conf ---

export function natsConf(): { ports: number[]; routes: string[]; lameDuckMs: number } {
  const text = read(join(DEPLOY, "nats-server.conf")).replace(/#.*$/gm, "");
  const portOf = (re: RegExp) => Number(re.exec(text)?.[1]);
  const cluster = /cluster\s*\{([\s\S]*?)\n\}/.exec(text)?.[1] ?? "";
  return {
    ports: [
      portOf(/^listen:\s*\S+:(\d+)/m),
      portOf(/^http:\s*\S+:(\d+)/m),
      Number(/listen:\s*\S+:(\d+)/.exec(cluster)?.[1]),
    ],
    routes: [...cluster.matchAll(/nats-route:\/\/\S+/g)].map((m) => m[0]),
    lameDuckMs: durationMs(/^lame_duck_duration:\s*(\S+)/m.exec(text)?.[1] ?? "0s"),
  };
}

// --- every realer command line ---

export interface RealerCommandLine {
  /** Where it is: a file and the service, container or unit. */
  where: string;
  /** The arguments after the program (`edge --port 8080`). */
  argv: string[];
  /** The environment it runs with, as far as the file says. */
  env: Record<string, string>;
}

export function realerCommandLines(): RealerCommandLine[] {
  const out: RealerCommandLine[] = [];
  for (const [name, s] of Object.entries(compose().services)) {
    if (runsRealer(s) && s.command)
      out.push({ where: `deploy/compose.yaml: ${name}`, argv: s.command, env: s.environment ?? {} });
  }
  const configMaps = new Map(
    k8sObjects()
      .filter((o) => o.kind === "ConfigMap")
      .map((o) => [o.metadata.name, o.data ?? {}]),
  );
  for (const o of k8sObjects()) {
    for (const c of o.spec?.template?.spec?.containers ?? []) {
      if (!/^realer[:@]/.test(c.image)) continue;
      const env: Record<string, string> = {};
      for (const from of c.envFrom ?? []) Object.assign(env, configMaps.get(from.configMapRef?.name));
      for (const e of c.env ?? []) env[e.name] = e.value;
      out.push({ where: `deploy/kubernetes: ${o.kind} ${o.metadata.name}`, argv: c.args ?? [], env });
    }
  }
  for (const file of unitFiles()) {
    const { unit } = parseUnit(file);
    const exec = unit.get("Service", "ExecStart") ?? "";
    const at = exec.indexOf("dist/cli/main.js ");
    if (at < 0) continue;
    const envPath = unit.get("Service", "EnvironmentFile");
    const env = envPath?.endsWith("realer.env") ? envFile(join(DEPLOY, "systemd", "realer.env")) : {};
    out.push({ where: rel(file), argv: exec.slice(at + "dist/cli/main.js ".length).split(/\s+/), env });
  }
  const final = dockerStages().at(-1)!;
  const cmd = final.steps.findLast((s) => s.op === "CMD");
  if (cmd) out.push({ where: "Dockerfile: CMD", argv: execForm(cmd.args), env: {} });
  return out;
}
