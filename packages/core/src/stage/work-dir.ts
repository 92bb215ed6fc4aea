import { spawn } from "node:child_process";
import { realpath, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { makeOwnedTempDir, mountsUnder, reclaimStaleTempDirs } from "@molt/oci";
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

/**
 * Removes the build's work dir (stage roots of 50,000 files included) with `rm -rf`: Node's
 * recursive `rm` starts an operation per entry of a directory at once, which held some 60 MB of
 * heap for a 50,000-file root at the very end of a build (issue 16: peak RSS). A dir with a
 * mount still below it is left whole, never removed through the mount (neither rm nor Node's
 * `rm` would stop at a bind mount of the same filesystem): the next build's reclaim detaches
 * the mount first. Only where `rm` cannot be started is Node's `rm` used.
 */
export async function removeWorkDir(dir: string): Promise<void> {
  const real = await realpath(dir).catch(() => undefined);
  if (real === undefined) return;
  const mounts = mountsUnder(real);
  if (mounts.length > 0) {
    debug("leaving %s: %d mounts below it (%s)", dir, mounts.length, mounts[0]);
    return;
  }
  const started = await new Promise<boolean>((resolve) => {
    const child = spawn("rm", ["-rf", "--one-file-system", "--", real], {
      stdio: ["ignore", "ignore", "pipe"],
    });
    let err = "";
    child.stderr.setEncoding("utf8").on("data", (d: string) => {
      if (err.length < 2000) err += d;
    });
    child.once("error", (e) => {
      debug("cannot start rm (%s): removing %s with node", e.message, dir);
      resolve(false);
    });
    child.once("close", (code) => {
      if (code !== 0) debug("rm -rf %s exited %s: %s", dir, code, err.trim());
      resolve(true);
    });
  });
  if (!started) await rm(real, { recursive: true, force: true });
}
