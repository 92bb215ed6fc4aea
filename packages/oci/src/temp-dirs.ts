import { spawnSync } from "node:child_process";
import {
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { killLeftovers } from "./leftovers.js";
import { processStartTime } from "./proc-stat.js";

export { processStartTime } from "./proc-stat.js";

/**
 * Temporary directories that say who made them. Each molt temp dir holds an owner file with the
 * creating process's pid and start time (from `/proc/PID/stat`, so a reused pid is not mistaken
 * for the owner); {@link reclaimStaleTempDirs} removes the dirs whose owner is gone — what a
 * build killed with SIGKILL left behind — after detaching any mount still below them.
 */

/** The owner file's name inside each temp dir. */
export const OWNER_FILE = ".molt-owner";

/** Prefix of every temp dir molt makes; only names with it are ever reclaimed. */
export const TEMP_PREFIX = "molt-";

let selfOwner: string | undefined;
function ownerLine(): string {
  selfOwner ??= `${process.pid} ${processStartTime(process.pid) ?? "?"}\n`;
  return selfOwner;
}

/** Writes the owner file of the current process into `dir` (one made by the caller). */
export function claimTempDir(dir: string): void {
  writeFileSync(join(dir, OWNER_FILE), ownerLine());
}

/**
 * `mkdtemp(join(parent, prefix))` plus the owner file. `prefix` should start with
 * {@link TEMP_PREFIX} so a later build can reclaim the dir when this process dies.
 */
export function makeOwnedTempDir(parent: string, prefix: string): string {
  const dir = mkdtempSync(join(parent, prefix));
  try {
    claimTempDir(dir);
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  return dir;
}

/** Whether the owner recorded in `dir` is a live process (a dir with no owner file counts as live: it may be mid-creation). */
export function ownerAlive(dir: string): boolean {
  let text: string;
  try {
    text = readFileSync(join(dir, OWNER_FILE), "latin1");
  } catch {
    return true;
  }
  const [pid, start] = text.trim().split(" ");
  const n = Number(pid);
  if (!Number.isInteger(n) || n <= 0) return false;
  const now = processStartTime(n);
  return now !== undefined && (start === "?" || now === start);
}

/** The start time (clock ticks) the owner file of `dir` records; 0 when it records none. */
function ownerStart(dir: string): number {
  try {
    const start = Number(readFileSync(join(dir, OWNER_FILE), "latin1").trim().split(" ")[1]);
    return Number.isFinite(start) ? start : 0;
  } catch {
    return 0;
  }
}

function unescapeMount(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(Number.parseInt(o, 8)));
}

/** Mount points at or below `dir`, deepest first, from `/proc/self/mountinfo`. */
/** Mount points at or below `dir` (from /proc/self/mountinfo), deepest first. */
export function mountsUnder(dir: string): string[] {
  let text: string;
  try {
    text = readFileSync("/proc/self/mountinfo", "utf8");
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const line of text.split("\n")) {
    const mp = line.split(" ")[4];
    if (mp === undefined) continue;
    const p = unescapeMount(mp);
    if (p === dir || p.startsWith(`${dir}/`)) out.push(p);
  }
  return out.sort((a, b) => b.length - a.length);
}

/**
 * How long an empty `molt-*` dir without an owner file must have gone untouched before a reclaim
 * removes it. A live process leaves one so for a few microseconds at most (between `mkdtemp` and
 * writing the owner file, or unlinking the owner file and the dir).
 */
const UNOWNED_GRACE_MS = 5000;

/** Whether `dir` is empty, has no owner file, and its mtime is more than `graceMs` ago. */
function emptyAndUnownedSince(dir: string, graceMs: number): boolean {
  try {
    return Date.now() - statSync(dir).mtimeMs > graceMs && readdirSync(dir).length === 0;
  } catch {
    return false;
  }
}

/** What {@link reclaimStaleTempDirs} did. */
export interface ReclaimResult {
  /** Directories removed. */
  removed: string[];
  /** Directories of dead owners left in place because a mount below them could not be detached. */
  kept: string[];
}

/**
 * Removes every `molt-*` directory directly in `parent` whose owner process is dead (or is
 * another process now using the pid). Mounts still below such a dir (an overlay mounted in the
 * host's namespace by a killed library caller) are detached first with `umount -l`; a dir with a
 * mount that will not go is kept, never removed through the mount. Dirs without an owner file
 * (older versions, or being created right now) are left alone, except an empty one untouched
 * for a few seconds (what a process killed right after making it, or right before removing it
 * after its owner file, leaves).
 */
export function reclaimStaleTempDirs(parent: string): ReclaimResult {
  const result: ReclaimResult = { removed: [], kept: [] };
  let names: string[];
  try {
    names = readdirSync(parent).filter((n) => n.startsWith(TEMP_PREFIX));
  } catch {
    return result;
  }
  for (const name of names) {
    const dir = join(parent, name);
    if (emptyAndUnownedSince(dir, UNOWNED_GRACE_MS)) {
      // Killed between making a dir and writing its owner file, or between removing the owner
      // file and the dir (see `removeOwnedTempDir`): nothing in it, and no one has touched it since.
      try {
        rmdirSync(dir);
        result.removed.push(dir);
      } catch {
        // filled or removed meanwhile: someone's
      }
      continue;
    }
    if (ownerAlive(dir)) continue;
    // What the dead build left running in the dir (a probe's subshell, say) goes first, or it
    // would go on writing there while the dir is removed.
    killLeftovers(dir, ownerStart(dir));
    for (const m of mountsUnder(dir)) spawnSync("umount", ["-l", m], { stdio: "ignore" });
    if (mountsUnder(dir).length > 0) {
      result.kept.push(dir);
      continue;
    }
    // A last write racing the kill: a few tries, 50 ms apart, before it is kept for a later build.
    let gone = false;
    for (let attempt = 0; attempt < 4 && !gone; attempt++) {
      if (attempt > 0) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50);
      try {
        rmSync(dir, { recursive: true, force: true });
        gone = !existsSync(dir);
      } catch {
        gone = false;
      }
    }
    (gone ? result.removed : result.kept).push(dir);
  }
  return result;
}
