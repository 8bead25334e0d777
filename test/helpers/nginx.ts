/**
 * Debian's nginx running deploy/nginx/realer.conf.template, rendered with a free port and
 * the test's two edges, inside a minimal main configuration whose paths (pid, logs,
 * temporary files) are in a temporary directory.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type Daemon, startDaemon, threeTries } from "./daemon.js";
import { freePort } from "./ports.js";
import { renderTemplate } from "./template.js";
import { requireTool } from "./tools.js";

export const NGINX_TEMPLATE = fileURLToPath(
  new URL("../../deploy/nginx/realer.conf.template", import.meta.url),
);

export interface RunningNginx extends Daemon {
  /** Where clients connect, e.g. http://127.0.0.1:PORT. */
  url: string;
}

const hostPort = (edge: string) => (edge.includes("://") ? new URL(edge).host : edge);

/** A main configuration around `include`d files, everything nginx writes kept in `dir`. */
export function nginxMainConfig(dir: string, include: string): string {
  const temp = ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"]
    .map((t) => `  ${t}_temp_path ${join(dir, t)};`)
    .join("\n");
  return `daemon off;
worker_processes 1;
pid ${join(dir, "nginx.pid")};
error_log stderr notice;
events { worker_connections 4096; }
http {
  access_log off;
${temp}
  include ${include};
}
`;
}

/** Renders the template for `edges` and `listen` into `dir` with a main config around it; answers the main config's path. */
export function writeNginxConfig(dir: string, edges: readonly [string, string], listen: string): string {
  const rendered = renderTemplate(readFileSync(NGINX_TEMPLATE, "utf8"), {
    EDGE1: hostPort(edges[0]),
    EDGE2: hostPort(edges[1]),
    LISTEN: listen,
  });
  writeFileSync(join(dir, "realer.conf"), rendered);
  const main = join(dir, "nginx.conf");
  writeFileSync(main, nginxMainConfig(dir, join(dir, "realer.conf")));
  return main;
}

/** `nginx -t` on a main config: its exit status and what it printed. */
export function nginxTest(main: string, prefix: string): { status: number | null; output: string } {
  const r = spawnSync(requireTool("nginx"), ["-t", "-e", "stderr", "-p", prefix, "-c", main], {
    encoding: "utf8",
  });
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

export async function startNginx(o: { edges: readonly [string, string] }): Promise<RunningNginx> {
  const bin = requireTool("nginx");
  return threeTries(async () => {
    const dir = mkdtempSync(join(tmpdir(), "realer-nginx-"));
    const url = `http://127.0.0.1:${await freePort()}`;
    try {
      const main = writeNginxConfig(dir, o.edges, new URL(url).host);
      const d = await startDaemon(
        bin,
        ["-e", "stderr", "-p", dir, "-c", main],
        async () => (await fetch(`${url}/healthz`)).status > 0,
      );
      return {
        ...d,
        url,
        async stop() {
          await d.stop();
          rmSync(dir, { recursive: true, force: true });
        },
      };
    } catch (err) {
      rmSync(dir, { recursive: true, force: true });
      throw err;
    }
  });
}
