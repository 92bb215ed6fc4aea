import { asyncDiskLookup, PathResolveError, resolvePathAsync } from "@molt/oci";
import { ContextSymlinkLoopError } from "./errors.js";

/**
 * Resolves a cleaned context-relative path to the real context-relative path it names, following
 * symlinks in parent components *inside the root*, as if the root were `/` (an absolute target or
 * a `..` above the root stays at the root; it never leaves it) — the one resolver, `resolvePath`
 * of `@molt/oci`. The last component is followed only when `followFinal` is set. Missing
 * components (and what follows a non-directory) are kept as written, so a following `lstat`
 * reports the absence.
 */
export async function resolveInRoot(root: string, path: string, followFinal = false): Promise<string> {
  try {
    const r = await resolvePathAsync(asyncDiskLookup(root), path, {
      followLast: followFinal,
      notDirectory: "missing",
    });
    return r.path;
  } catch (e) {
    if (e instanceof PathResolveError && e.code === "MOLT_PATH_LOOP") {
      throw new ContextSymlinkLoopError(path);
    }
    throw e;
  }
}
