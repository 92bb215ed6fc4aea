import { readdirSync, readFileSync, readlinkSync } from "node:fs";
import { processStartTime } from "./proc-stat.js";

/**
 * Processes a dead build left behind that still use one of its temp dirs. A shell that forks
 * (a pipeline, a `{ …; }` group) hands none of its `--pdeathsig` to the child, so a host probe's
 * subshell can outlive a build killed with SIGKILL for as long as its mounts take, and go on
 * writing below the build's dir while the next build reclaims it (the dir then comes back).
 */

/** The start time (clock ticks since boot) of `pid`, or undefined when it is gone or a zombie. */
function startTicks(pid: number): number | undefined {
  const t = processStartTime(pid);
  return t === undefined ? undefined : Number(t);
}

/** Whether `link` (a `/proc/PID/cwd` or `root` link) is `dir` or below it. */
function linkUnder(link: string, dir: string): boolean {
  try {
    const to = readlinkSync(link);
    return to === dir || to.startsWith(`${dir}/`);
  } catch {
    return false;
  }
}

/**
 * Pids of live processes, other than this one, that started no earlier than `since` (the dead
 * owner's start time, in clock ticks) and name `dir` in their command line or work in it (their
 * working directory or root is in it).
 */
export function processesUsing(dir: string, since: number): number[] {
  const out: number[] = [];
  let pids: string[];
  try {
    pids = readdirSync("/proc");
  } catch {
    return out;
  }
  for (const p of pids) {
    if (!/^\d+$/.test(p)) continue;
    const pid = Number(p);
    if (pid === process.pid) continue;
    const start = startTicks(pid);
    if (start === undefined || start < since) continue;
    let cmd = "";
    try {
      cmd = readFileSync(`/proc/${p}/cmdline`, "latin1");
    } catch {
      continue;
    }
    if (cmd.includes(dir) || linkUnder(`/proc/${p}/cwd`, dir) || linkUnder(`/proc/${p}/root`, dir))
      out.push(pid);
  }
  return out;
}

/**
 * Kills (SIGKILL) what {@link processesUsing} finds for a dead owner's `dir` and waits, up to
 * `timeoutMs`, until they are gone. Returns the pids it killed.
 */
export function killLeftovers(dir: string, since: number, timeoutMs = 2000): number[] {
  const pids = processesUsing(dir, since);
  for (const pid of pids) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // gone meanwhile
    }
  }
  const wait = new Int32Array(new SharedArrayBuffer(4));
  const t0 = Date.now();
  while (pids.some((pid) => startTicks(pid) !== undefined) && Date.now() - t0 < timeoutMs) {
    Atomics.wait(wait, 0, 0, 10);
  }
  return pids;
}
