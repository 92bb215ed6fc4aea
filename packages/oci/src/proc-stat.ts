import { readFileSync } from "node:fs";

/** The start time of process `pid` in clock ticks since boot (`/proc/PID/stat` field 22), or `undefined` when it is gone (or a zombie). */
export function processStartTime(pid: number): string | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, "latin1");
  } catch {
    return undefined;
  }
  // "pid (comm) state ppid ..." — comm may hold spaces and parentheses: split after the last ")".
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // A zombie (state Z) or dead (X) process has exited: it owns nothing, even before it is reaped
  // (a killed build's process waits as a zombie until init gets round to reaping it).
  if (fields[0] === "Z" || fields[0] === "X") return undefined;
  return fields[19];
}
