/**
 * CPU time and resident memory of server processes, read from /proc (Linux):
 * utime + stime from /proc/<pid>/stat, VmRSS from /proc/<pid>/status.
 */
import { readdirSync, readFileSync } from "node:fs";

/** Clock ticks per second of /proc/<pid>/stat times (USER_HZ; 100 on every Linux we run). */
const TICKS_PER_S = 100;

export interface ProcSample {
  /** CPU time used so far (user + system), seconds. */
  cpuS: number;
  /** Of which in the kernel (system time), seconds. */
  sysS: number;
  /** Resident set size now, bytes. */
  rssBytes: number;
}

export function sample(pid: number): ProcSample {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // The command name may contain spaces: fields start after its closing parenthesis.
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const sysS = Number(f[12]) / TICKS_PER_S;
  const cpuS = Number(f[11]) / TICKS_PER_S + sysS;
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return { cpuS, sysS, rssBytes: m ? Number(m[1]) * 1024 : 0 };
}

/** The sum over a group of processes; ones that have exited count as zero. */
export function sampleAll(pids: readonly number[]): ProcSample {
  let cpuS = 0;
  let sysS = 0;
  let rssBytes = 0;
  for (const pid of pids) {
    try {
      const s = sample(pid);
      cpuS += s.cpuS;
      sysS += s.sysS;
      rssBytes += s.rssBytes;
    } catch {
      // gone
    }
  }
  return { cpuS, sysS, rssBytes };
}

/** Direct children of a process. */
export function children(pid: number): number[] {
  const out: number[] = [];
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      const s = readFileSync(`/proc/${pid}/task/${tid}/children`, "utf8").trim();
      if (s) out.push(...s.split(" ").map(Number));
    }
  } catch {
    // gone
  }
  return out;
}

/** A process and all of its descendants. */
export function tree(pid: number): number[] {
  const out = [pid];
  for (let i = 0; i < out.length; i++) out.push(...children(out[i]!));
  return out;
}

export function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ").trim();
  } catch {
    return "";
  }
}
