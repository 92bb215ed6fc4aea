import { readdirSync, rmdirSync, rmSync, unlinkSync } from "node:fs";
import { readdir, rm, rmdir, unlink } from "node:fs/promises";
import { join } from "node:path";
import { OWNER_FILE } from "./temp-dirs.js";

/**
 * Removing a temp dir made by `makeOwnedTempDir` so that a process killed part-way through
 * leaves a dir a later build can still reclaim. `fs.rm`'s recursive removal unlinks a dir's
 * entries in no set order: killed between two unlinks, it can leave a half-removed dir without
 * its owner file, which `reclaimStaleTempDirs` must take for one being created right now and so
 * leaves in place for good (a `molt-probe-*` dir of a build killed while its host probes were
 * cleaning up stayed in the temp dir). Here everything but the owner file goes first, then the
 * owner file, then the (now empty) dir.
 */

function missing(e: unknown): boolean {
  return (e as NodeJS.ErrnoException).code === "ENOENT";
}

/** Removes one entry of the dir (a file or a whole tree); `fs.rm` by default. */
export type RemoveEntry = (path: string) => Promise<void>;

const rmEntry: RemoveEntry = (p) => rm(p, { recursive: true, force: true });

/**
 * Removes the owned temp dir `dir` with its owner file last (see above). `removeEntry` removes
 * each other entry (a caller that bounds concurrency or makes read-only trees writable passes
 * its own). A dir that is not there is not an error.
 */
export async function removeOwnedTempDir(dir: string, removeEntry: RemoveEntry = rmEntry): Promise<void> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (e) {
    if (missing(e)) return;
    throw e;
  }
  // One entry after another: `removeEntry` bounds its own concurrency inside each.
  for (const n of names) if (n !== OWNER_FILE) await removeEntry(join(dir, n));
  await unlink(join(dir, OWNER_FILE)).catch((e: unknown) => {
    if (!missing(e)) throw e;
  });
  await rmdir(dir).catch((e: unknown) => {
    if (!missing(e)) throw e;
  });
}

/** {@link removeOwnedTempDir}, synchronously, each entry with `fs.rmSync`. */
export function removeOwnedTempDirSync(dir: string): void {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (e) {
    if (missing(e)) return;
    throw e;
  }
  for (const n of names) if (n !== OWNER_FILE) rmSync(join(dir, n), { recursive: true, force: true });
  for (const step of [() => unlinkSync(join(dir, OWNER_FILE)), () => rmdirSync(dir)]) {
    try {
      step();
    } catch (e) {
      if (!missing(e)) throw e;
    }
  }
}
