import { tmpdir } from "node:os";
import { makeOwnedTempDir, reclaimStaleTempDirs } from "@molt/oci";
import createDebug from "debug";

const debug = createDebug("molt:build");

/**
 * Makes the build's private work dir (`molt-build-*` with an owner file) in `tmpDir`, after
 * reclaiming what killed builds left there and in the OS temp dir (where RUN's `molt-run-*`
 * dirs live): every `molt-*` dir whose owner process is gone.
 */
export function makeWorkDir(tmpDir: string | undefined): string {
  const parents = new Set([tmpDir ?? tmpdir(), tmpdir()]);
  for (const parent of parents) {
    const { removed, kept } = reclaimStaleTempDirs(parent);
    if (removed.length > 0) debug("reclaimed %d temp dirs of dead builds in %s", removed.length, parent);
    for (const k of kept) debug("cannot reclaim %s: a mount below it will not detach", k);
  }
  return makeOwnedTempDir(tmpDir ?? tmpdir(), "molt-build-");
}
