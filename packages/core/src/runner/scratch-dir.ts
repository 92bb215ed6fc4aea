import { accessSync, constants, statfsSync } from "node:fs";
import { tmpdir } from "node:os";
import createDebug from "debug";

const debug = createDebug("molt:run");

/** `statfs(2)`'s `f_type` of a tmpfs. */
const TMPFS_MAGIC = 0x01021994;

/** Whether `dir` is a directory on a tmpfs this process may create entries in. */
export function isWritableTmpfs(dir: string): boolean {
  try {
    if (statfsSync(dir).type !== TMPFS_MAGIC) return false;
    accessSync(dir, constants.W_OK | constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * Picks where a namespaced RUN's scratch dir (`molt-run-*`: the fstab and the `/dev` skeleton the
 * command gets, a few hundred bytes) goes: `tmp` when it is a tmpfs, else the first of
 * `candidates` that is a writable tmpfs, else `tmp`. The skeleton is a dozen files, directories
 * and symlinks made and removed on every RUN; on a journalled disk filesystem each of those costs
 * tens to hundreds of microseconds of CPU on the build's main thread (a symlink 60–300 µs on ext4
 * on the 2-core test VM, 5 µs on tmpfs), which is what several stages running at once compete for.
 */
export function chooseScratchParent(tmp: string, candidates: readonly string[]): string {
  if (isWritableTmpfs(tmp)) return tmp;
  return candidates.find(isWritableTmpfs) ?? tmp;
}

let chosen: { tmp: string; dir: string } | undefined;

/**
 * The directory namespaced RUNs make their scratch dirs in: {@link chooseScratchParent} of the OS
 * temp dir and `/dev/shm`, looked up once per temp dir. Its stale `molt-*` dirs (of a build
 * killed mid-RUN) are reclaimed like those of the temp dir (see `makeWorkDir`).
 */
export function runScratchParent(): string {
  const tmp = tmpdir();
  if (chosen?.tmp !== tmp) {
    chosen = { tmp, dir: chooseScratchParent(tmp, ["/dev/shm"]) };
    debug("per-RUN scratch dirs in %s", chosen.dir);
  }
  return chosen.dir;
}
