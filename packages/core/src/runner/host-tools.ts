import { accessSync, constants } from "node:fs";

const DIRS = ["/usr/bin", "/bin", "/usr/sbin", "/sbin", "/usr/local/bin", "/usr/local/sbin"];

/** Absolute paths of the host programs the runners compose (util-linux, coreutils, iproute2). */
export interface HostTools {
  sh?: string;
  env?: string;
  unshare?: string;
  nsenter?: string;
  setpriv?: string;
  mount?: string;
  cp?: string;
  touch?: string;
  mknod?: string;
  ip?: string;
  chown?: string;
  mkdir?: string;
  readlink?: string;
  true?: string;
}

/** Finds a program in the standard system directories (never through the caller's PATH). */
export function findTool(name: string): string | undefined {
  for (const d of DIRS) {
    const p = `${d}/${name}`;
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // next
    }
  }
  return undefined;
}

/** Looks up every tool once. */
export function findTools(): HostTools {
  const t: HostTools = {};
  for (const n of [
    "sh",
    "env",
    "unshare",
    "nsenter",
    "setpriv",
    "mount",
    "cp",
    "touch",
    "mknod",
    "ip",
    "chown",
    "mkdir",
    "readlink",
    "true",
  ] as const) {
    const p = findTool(n);
    if (p) t[n] = p;
  }
  return t;
}

/** Quotes a string for a POSIX shell. */
export function shQuote(s: string): string {
  return `'${s.replaceAll("'", `'\\''`)}'`;
}
