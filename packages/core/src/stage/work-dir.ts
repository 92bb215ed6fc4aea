import { readdir, realpath, rmdir, unlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { makeOwnedTempDir, mountsUnder, reclaimStaleTempDirs, removeOwnedTempDir } from "@molt/oci";
import createDebug from "debug";
import { runScratchParent } from "../runner/scratch-dir.js";

const debug = createDebug("molt:build");

/**
 * Makes the build's private work dir (`molt-build-*` with an owner file) in `tmpDir`, after
 * reclaiming what killed builds left there, in the OS temp dir and where RUN's `molt-run-*`
 * dirs live (see `runScratchParent`): every `molt-*` dir whose owner process is gone.
 */
export function makeWorkDir(tmpDir: string | undefined): string {
  const parents = new Set([tmpDir ?? tmpdir(), tmpdir(), runScratchParent()]);
  for (const parent of parents) {
    const { removed, kept } = reclaimStaleTempDirs(parent);
    if (removed.length > 0) debug("reclaimed %d temp dirs of dead builds in %s", removed.length, parent);
    for (const k of kept) debug("cannot reclaim %s: a mount below it will not detach", k);
  }
  return makeOwnedTempDir(tmpDir ?? tmpdir(), "molt-build-");
}

/**
 * Removes the build's work dir (stage roots of 50,000 files included) a bounded number of
 * unlinks at a time: Node's recursive `rm` starts an operation per entry of a directory at once,
 * which held some 60 MB of heap for a 50,000-file root at the very end of a build (issue 16:
 * peak RSS), and `rm -rf` (one unlink after another) took 6x as long. A dir with a mount still
 * below it is left whole, never removed through the mount (Node's `rm` would not stop at a bind
 * mount of the same filesystem): the next build's reclaim detaches the mount first.
 */
export async function removeWorkDir(dir: string): Promise<void> {
  const real = await realpath(dir).catch(() => undefined);
  if (real === undefined) return;
  const mounts = mountsUnder(real);
  if (mounts.length > 0) {
    debug("leaving %s: %d mounts below it (%s)", dir, mounts.length, mounts[0]);
    return;
  }
  const t0 = performance.now();
  // The owner file last, so a build killed while removing it leaves a dir the next one reclaims.
  try {
    await removeOwnedTempDir(real, removeEntry);
    debug("removed %s in %d ms", dir, Math.round(performance.now() - t0));
  } catch (e) {
    debug("removing %s: %s; trying rm", dir, (e as Error).message);
    await removeOwnedTempDir(real);
  }
}

/** Unlinks at most this many entries at once (the libuv pool has 4 threads). */
const REMOVE_WINDOW = 16;

/** Removes a tree with {@link removeTree}, or unlinks a file. */
async function removeEntry(path: string): Promise<void> {
  try {
    await removeTree(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOTDIR") throw e;
    await unlink(path);
  }
}

async function removeTree(dir: string): Promise<void> {
  const entries = await readdir(dir, { withFileTypes: true });
  for (let i = 0; i < entries.length; i += REMOVE_WINDOW) {
    await Promise.all(
      entries.slice(i, i + REMOVE_WINDOW).map((e) => {
        const p = join(dir, e.name);
        return e.isDirectory() ? removeTree(p) : unlink(p);
      }),
    );
  }
  await rmdir(dir);
}
