/**
 * What deploy/ (and the Dockerfile) name exists in realer, as its code defines it: commands
 * and flags (the commander definitions), REALER_* variables (what configFromEnv reads), error
 * codes and streams; what points at a realer process points at a port it listens on; every
 * fleet keeps three copies of each stream; stop timeouts outlast a drain.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, it } from "node:test";
import { EDGE_CLUSTER_DRAIN_MS } from "../../src/cli/cluster.js";
import { defaultConfig } from "../../src/config/config.js";
import { commandLineProblems, listenPorts, realerNames } from "../helpers/realer-cli-spec.js";
import {
  compose,
  DEPLOY,
  deployFiles,
  durationMs,
  envFile,
  k8sFile,
  k8sObjects,
  natsConf,
  parseUnit,
  ROOT,
  read,
  realerCommandLines,
  rel,
  runsRealer,
  selects,
  unitFiles,
} from "./deploy-fixture.js";

const cfg = defaultConfig();
/** The longest an edge's drain lasts: it verifies what it delivered, then a client that does not read gets its grace. */
const edgeDrainMs = (workers: boolean) =>
  Math.max(cfg.edge.drainVerifyMs + cfg.edge.closeGraceMs, workers ? EDGE_CLUSTER_DRAIN_MS : 0);

describe("deploy/: what it names exists in realer", () => {
  it("names only REALER_* variables realer reads, its error codes and its streams", () => {
    const known = realerNames();
    const files = [...deployFiles(), join(ROOT, "Dockerfile")].filter((f) => !f.endsWith(".json"));
    let seen = 0;
    for (const f of files) {
      for (const name of read(f).match(/\bREALER_[A-Z0-9_]+\b/g) ?? []) {
        seen++;
        assert.ok(known.has(name), `${rel(f)} names ${name}, which realer does not know`);
      }
    }
    assert.ok(seen > 20, `${seen} names checked`);
  });

  it("runs realer only with commands and flags it has", () => {
    const lines = realerCommandLines();
    const where = (prefix: string) => lines.filter((l) => l.where.startsWith(prefix)).length;
    assert.ok(where("deploy/compose.yaml") >= 4, "workers and edges in the Compose file");
    assert.ok(where("deploy/kubernetes") >= 2, "edge and worker Deployments");
    assert.ok(where("deploy/systemd") >= 3, "edge, worker and ingest units");
    assert.equal(where("Dockerfile"), 1);
    for (const l of lines) assert.deepEqual(commandLineProblems(l.argv), [], l.where);
    const roles = new Set(lines.map((l) => l.argv[0]));
    for (const role of ["edge", "worker", "ingest"]) assert.ok(roles.has(role), `a ${role} somewhere`);
  });

  it("points everything at ports the processes listen on (Compose, Prometheus, HAProxy's defaults)", () => {
    const { services } = compose();
    const nats = natsConf();
    const listening = new Map<string, number[]>();
    for (const [name, s] of Object.entries(services)) {
      const env = s.environment ?? {};
      if (runsRealer(s)) listening.set(name, listenPorts(s.command ?? [], env));
      else if (/^nats[:@]/.test(s.image ?? "")) listening.set(name, nats.ports);
      else if (/^haproxy[:@]/.test(s.image ?? ""))
        listening.set(
          name,
          [env.LB_BIND, env.LB_STATS_BIND].map((b) => Number(String(b).split(":").pop())),
        );
    }
    assert.deepEqual(
      [...listening.keys()].sort(),
      Object.keys(services).sort(),
      "every service's ports known",
    );
    const check = (ref: string, host: string, port: number, self?: string) => {
      const target = host === "127.0.0.1" || host === "localhost" ? self : host;
      const ports = target ? listening.get(target) : undefined;
      if (ports)
        assert.ok(ports.includes(port), `${ref}: ${target} listens on ${ports.join(", ")}, not ${port}`);
    };
    const hostPorts = (text: string) =>
      [...text.matchAll(/(?:\/\/|@|^|[\s"',])([a-z0-9][a-z0-9.-]*):(\d{2,5})\b/g)].map(
        (m) => [m[1]!, Number(m[2])] as const,
      );
    let checked = 0;
    for (const [name, s] of Object.entries(services)) {
      const values = [
        ...Object.values(s.environment ?? {}),
        ...(s.healthcheck?.test ?? []),
        ...(s.command ?? []),
      ].map(String);
      for (const v of values)
        for (const [host, port] of hostPorts(v)) {
          check(`compose ${name}: ${v}`, host, port, name);
          checked++;
        }
      for (const p of s.ports ?? [])
        check(`compose ${name} ports ${p}`, name, Number(String(p).split(":").pop()));
    }
    for (const [host, port] of hostPorts(read(join(DEPLOY, "prometheus.yml")))) {
      check(`prometheus.yml ${host}:${port}`, host, port);
      checked++;
    }
    for (const [, , value] of read(join(DEPLOY, "haproxy/haproxy.cfg")).matchAll(/\$\{(EDGE\d)-([^}]+)\}/g)) {
      const [host, port] = value!.split(":");
      check(`haproxy.cfg default ${value}`, host!, Number(port));
      checked++;
    }
    assert.ok(checked > 10, `${checked} references checked`);
  });

  it("wires the Kubernetes objects together: selectors, ports, probes, targets", () => {
    const objs = k8sObjects();
    const deployments = objs.filter((o) => o.kind === "Deployment");
    assert.deepEqual(deployments.map((d) => d.metadata.name).sort(), ["realer-edge", "realer-worker"]);
    const labelsOf = (d: (typeof objs)[0]) => d.spec.template.metadata.labels as Record<string, string>;
    const configMaps = new Set(objs.filter((o) => o.kind === "ConfigMap").map((o) => o.metadata.name));
    for (const d of deployments) {
      assert.ok(selects(d.spec.selector.matchLabels, labelsOf(d)), `${d.metadata.name}: selector`);
      for (const c of d.spec.template.spec.containers) {
        const ports = new Map<string, number>(
          c.ports.map((p: { name: string; containerPort: number }) => [p.name, p.containerPort]),
        );
        const line = realerCommandLines().find((l) => l.where.endsWith(`Deployment ${d.metadata.name}`))!;
        assert.deepEqual(
          [...ports.values()],
          listenPorts(line.argv, line.env),
          `${d.metadata.name}: container ports`,
        );
        for (const probe of [c.readinessProbe, c.livenessProbe]) {
          const port = (probe.httpGet ?? probe.tcpSocket).port;
          assert.ok(ports.has(port), `${d.metadata.name}: probe port ${port}`);
        }
        assert.equal(c.readinessProbe.httpGet.path, "/healthz");
        const scrape = d.spec.template.metadata.annotations?.["prometheus.io/port"];
        if (scrape)
          assert.ok([...ports.values()].includes(Number(scrape)), `${d.metadata.name}: scrape port`);
        for (const from of c.envFrom)
          assert.ok(configMaps.has(from.configMapRef.name), "its ConfigMap exists");
      }
    }
    const target = (selector: Record<string, string>) =>
      deployments.find((d) => selects(selector, labelsOf(d)));
    for (const o of objs) {
      if (o.kind === "Service") {
        const d = target(o.spec.selector);
        assert.ok(d, `Service ${o.metadata.name} selects a Deployment`);
        const names = d.spec.template.spec.containers.flatMap((c: { ports: { name: string }[] }) =>
          c.ports.map((p) => p.name),
        );
        for (const p of o.spec.ports)
          assert.ok(names.includes(p.targetPort), `Service ${o.metadata.name}: ${p.targetPort}`);
      }
      if (o.kind === "PodDisruptionBudget")
        assert.ok(target(o.spec.selector.matchLabels), `PDB ${o.metadata.name}`);
      if (o.kind === "HorizontalPodAutoscaler") {
        const ref = o.spec.scaleTargetRef;
        assert.ok(
          deployments.some((d) => ref.kind === "Deployment" && d.metadata.name === ref.name),
          "HPA target",
        );
        assert.ok(o.spec.minReplicas >= 2 && o.spec.maxReplicas > o.spec.minReplicas);
      }
    }
    const kinds = new Set(objs.map((o) => `${o.kind} ${o.metadata.name}`));
    for (const k of [
      "Service realer-edge",
      "HorizontalPodAutoscaler realer-edge",
      "PodDisruptionBudget realer-edge",
    ])
      assert.ok(kinds.has(k), k);
    const kustomization = k8sFile("kustomization.yaml") as { resources: string[] };
    assert.deepEqual(kustomization.resources.sort(), ["config.yaml", "edge.yaml", "worker.yaml"]);
  });

  it("keeps three copies of every stream on a three-server NATS cluster, in every fleet", () => {
    const { services } = compose();
    const natsServices = Object.values(services).filter((s) => /^nats[:@]/.test(s.image ?? ""));
    assert.equal(natsServices.length, 3);
    assert.equal(natsConf().routes.length, 3);
    for (const s of Object.values(services).filter(runsRealer))
      assert.equal(s.environment?.REALER_STREAM_REPLICAS, "3");
    for (const l of realerCommandLines().filter((x) => !x.where.startsWith("Dockerfile")))
      assert.equal(l.env.REALER_STREAM_REPLICAS, "3", l.where);
    const values = k8sFile("nats-values.yaml") as {
      config: {
        cluster: { enabled: boolean; replicas: number };
        jetstream: { enabled: boolean; fileStore: { enabled: boolean } };
      };
    };
    assert.deepEqual(values.config.cluster, { enabled: true, replicas: 3 });
    assert.equal(values.config.jetstream.enabled, true);
    assert.equal(values.config.jetstream.fileStore.enabled, true);
    assert.equal(envFile(join(DEPLOY, "systemd/realer.env")).REALER_STREAM_REPLICAS, "3");
  });

  it("gives every process longer to stop than it takes to drain", () => {
    for (const f of unitFiles()) {
      const { unit } = parseUnit(f);
      const exec = unit.get("Service", "ExecStart")!;
      const stopMs = Number(unit.get("Service", "TimeoutStopSec")) * 1000;
      const needs = / edge /.test(exec)
        ? edgeDrainMs(/--workers [2-9]/.test(exec))
        : / worker /.test(exec)
          ? cfg.worker.ackWaitMs
          : / ingest /.test(exec)
            ? cfg.ingest.publishTimeoutMs
            : natsConf().lameDuckMs;
      assert.ok(stopMs > needs, `${rel(f)}: TimeoutStopSec ${stopMs} ms, a drain takes up to ${needs} ms`);
      assert.match(unit.get("Service", "Restart")!, /^(always|on-failure)$/);
    }
    for (const [name, s] of Object.entries(compose().services)) {
      const needs = runsRealer(s)
        ? s.command?.[0] === "worker"
          ? cfg.worker.ackWaitMs
          : edgeDrainMs(false)
        : /^nats/.test(s.image ?? "")
          ? natsConf().lameDuckMs
          : 0;
      if (needs)
        assert.ok(durationMs(s.stop_grace_period ?? "10s") > needs, `compose ${name}: stop_grace_period`);
    }
    for (const d of k8sObjects().filter((o) => o.kind === "Deployment")) {
      const pod = d.spec.template.spec;
      const preStop = Number(pod.containers[0].lifecycle?.preStop?.exec?.command?.[1] ?? 0) * 1000;
      const needs = d.metadata.name === "realer-edge" ? edgeDrainMs(false) : cfg.worker.ackWaitMs;
      assert.ok(
        pod.terminationGracePeriodSeconds * 1000 > preStop + needs,
        `${d.metadata.name}: grace period`,
      );
    }
  });
});
