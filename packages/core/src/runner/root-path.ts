import { chown, lstat, mkdir } from "node:fs/promises";
import {
  asyncDiskLookup,
  diskLookup,
  inRoot,
  PathResolveError,
  resolvePath,
  resolvePathAsync,
} from "@molt/oci";
import { RunnerSetupError } from "./errors.js";

/** Where a container path lands on the host, resolved without ever leaving the root. */
export interface RootPath {
  /** Host path of the deepest existing component, or of the whole path when it exists. */
  hostPath: string;
  /** Components (after `hostPath`) that do not exist yet; empty when the path exists. */
  missing: string[];
}

/**
 * Resolves `containerPath` inside `root` the way the kernel would after `chroot(root)` (the one
 * resolver, `resolvePath` of `@molt/oci`): `..` never climbs above the root and symlinks
 * (absolute or relative) are followed inside it. Every returned host path is made of real
 * directories under `root`, so opening it cannot escape. `followLast: false` leaves a final
 * symlink unresolved (for lstat-like questions).
 */
export async function resolveInRoot(
  root: string,
  containerPath: string,
  options: { followLast?: boolean } = {},
): Promise<RootPath> {
  const base = root.endsWith("/") && root !== "/" ? root.slice(0, -1) : root;
  try {
    const r = await resolvePathAsync(asyncDiskLookup(base), containerPath, {
      followLast: options.followLast ?? true,
    });
    return { hostPath: inRoot(base, r.existing), missing: r.missing };
  } catch (e) {
    if (!(e instanceof PathResolveError)) throw e;
    throw new RunnerSetupError(
      e.code === "MOLT_PATH_LOOP"
        ? `too many levels of symbolic links resolving ${containerPath} in the root`
        : `${containerPath}: a component is not a directory in the root`,
    );
  }
}

/**
 * {@link resolveInRoot} with synchronous `lstat`/`readlink`: for the few lookups around each RUN,
 * where a thread-pool round trip per call costs more than the call (and much more on a loaded
 * machine).
 */
export function resolveInRootSync(
  root: string,
  containerPath: string,
  options: { followLast?: boolean } = {},
): RootPath {
  const base = root.endsWith("/") && root !== "/" ? root.slice(0, -1) : root;
  try {
    const r = resolvePath(diskLookup(base), containerPath, { followLast: options.followLast ?? true });
    return { hostPath: inRoot(base, r.existing), missing: r.missing };
  } catch (e) {
    if (!(e instanceof PathResolveError)) throw e;
    throw new RunnerSetupError(
      e.code === "MOLT_PATH_LOOP"
        ? `too many levels of symbolic links resolving ${containerPath} in the root`
        : `${containerPath}: a component is not a directory in the root`,
    );
  }
}

/**
 * Creates the directory `containerPath` inside `root` (like `mkdir -p`, symlinks followed
 * inside the root) with mode 0755; components it creates are chowned to `owner` when given.
 * Returns the host path of the directory.
 */
export async function mkdirInRoot(
  root: string,
  containerPath: string,
  owner?: { uid: number; gid: number },
): Promise<string> {
  for (;;) {
    const r = await resolveInRoot(root, containerPath);
    if (r.missing.length === 0) {
      const st = await lstat(r.hostPath);
      if (!st.isDirectory())
        throw new RunnerSetupError(`${containerPath} exists in the root and is not a directory`);
      return r.hostPath;
    }
    // Create one component, then resolve again (the next one may be a symlink's target).
    const next = `${r.hostPath === "/" ? "" : r.hostPath}/${r.missing[0]}`;
    if (r.missing[0] === "..") throw new RunnerSetupError(`cannot create ${containerPath}`);
    try {
      await mkdir(next, { mode: 0o755 });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
    }
    if (owner) await chown(next, owner.uid, owner.gid);
  }
}
