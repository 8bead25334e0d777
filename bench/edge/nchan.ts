/**
 * nchan, the baseline: nginx with the nchan module from Debian, installed
 * when missing (apt-get, as root), on loopback with the configuration that
 * matches realer's edge: an EventSource subscriber per channel, an HTTP
 * publisher, and a message buffer per channel.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { marker } from "../../src/loadtest/marker.js";
import { tree } from "../../src/loadtest/proc-stats.js";
import { freePort, padded, poster, type SystemUnderTest, waitForPort } from "./system.js";

const NGINX = "/usr/sbin/nginx";
const MODULE = "/usr/lib/nginx/modules/ngx_nchan_module.so";

/** Installs nginx-light and libnginx-mod-nchan from Debian unless both are present. */
export function ensureNchan(): void {
  if (existsSync(NGINX) && existsSync(MODULE)) return;
  if (process.getuid?.() !== 0) {
    throw new Error("nchan is missing and this is not root: apt-get install nginx-light libnginx-mod-nchan");
  }
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  const install = () =>
    spawnSync("apt-get", ["install", "-y", "--no-install-recommends", "nginx-light", "libnginx-mod-nchan"], {
      env,
      stdio: "inherit",
    });
  if (install().status !== 0) {
    spawnSync("apt-get", ["update"], { env, stdio: "inherit" });
    if (install().status !== 0)
      throw new Error("apt-get could not install nginx-light and libnginx-mod-nchan");
  }
  // Debian starts the packaged site on port 80 where an init system runs; the bench uses its own nginx only.
  spawnSync(NGINX, ["-s", "quit"], { stdio: "ignore" });
}

export interface NchanOptions {
  workers: number;
  /** Messages kept per channel (realer's ring plays this part). */
  bufferLength: number;
  /** Bytes of each published message (marker plus padding). */
  messageBytes: number;
}

function config(dir: string, port: number, o: NchanOptions): string {
  return `
worker_processes ${o.workers};
worker_rlimit_nofile 20000;
daemon off;
master_process on;
pid ${dir}/nginx.pid;
error_log stderr warn;
load_module ${MODULE};
events { worker_connections 19900; multi_accept on; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  nchan_shared_memory_size 512m;
  server {
    listen 127.0.0.1:${port} reuseport backlog=4096;
    location ~ ^/sub/(\\w+)$ {
      nchan_subscriber eventsource;
      nchan_channel_id $1;
      nchan_subscriber_first_message newest;
    }
    location ~ ^/pub/(\\w+)$ {
      nchan_publisher;
      nchan_channel_id $1;
      nchan_message_buffer_length ${o.bufferLength};
      nchan_message_timeout 1h;
    }
  }
}
`;
}

export async function startNchan(o: NchanOptions): Promise<SystemUnderTest> {
  ensureNchan();
  const dir = mkdtempSync(join(tmpdir(), "realer-bench-nchan-"));
  mkdirSync(join(dir, "body"));
  const port = await freePort();
  writeFileSync(join(dir, "nginx.conf"), config(dir, port, o));
  const proc: ChildProcess = spawn(NGINX, ["-p", dir, "-c", join(dir, "nginx.conf")], {
    stdio: ["ignore", "ignore", "inherit"],
  });
  const exited = new Promise<void>((r) => proc.once("exit", () => r()));
  try {
    await Promise.race([
      waitForPort(port),
      exited.then(() => Promise.reject(new Error("nginx exited at start (its error log is above)"))),
    ]);
  } catch (err) {
    if (proc.exitCode === null) proc.kill("SIGKILL");
    await exited;
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const post = poster(port);
  return {
    name: `nchan (${o.workers} worker${o.workers > 1 ? "s" : ""})`,
    host: "127.0.0.1",
    port,
    subscribePath: (ch) => `/sub/c${ch}`,
    publish: (ch, n, t) => post(`/pub/c${ch}`, padded(marker(ch, n, t), o.messageBytes), "text/plain"),
    pids: () => ({ edge: tree(proc.pid!) }),
    async stop() {
      if (proc.exitCode === null) proc.kill("SIGTERM");
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
