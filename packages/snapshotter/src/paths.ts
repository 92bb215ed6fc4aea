import { lstatSync, readlinkSync } from "node:fs";
import { lstat, readlink } from "node:fs/promises";
import { join } from "node:path";
import type { Baseline, NodeType } from "./baseline.js";
import { UnsafePathError } from "./errors.js";

/** The most symlinks one resolution follows before giving up (as Linux's `ELOOP`). */
export const MAX_SYMLINKS = 40;

/**
 * Cleans a path lexically as the container would see it from `/`: drops `.`, empty and leading
 * `/` components and applies `..` without ever going above the root. Returns a relative path
 * (`""` for the root itself).
 *
 * @example
 * ```ts
 * cleanPath("../../etc//./passwd"); // "etc/passwd"
 * ```
 */
export function cleanPath(path: string): string {
  const out: string[] = [];
  for (const c of path.split("/")) {
    if (c === "" || c === ".") continue;
    if (c === "..") out.pop();
    else out.push(c);
  }
  return out.join("/");
}

/** Joins a root and a relative path produced by {@link cleanPath} or a resolver. */
export function abs(root: string, rel: string): string {
  return rel === "" ? root || "/" : `${root}/${rel}`;
}

/** What a resolver needs to know about one relative path, or `undefined` when nothing is there. */
export type Lookup = (rel: string) => { type: NodeType; linkTarget?: string | undefined } | undefined;

/**
 * Resolves `path` inside a root with `lookup`, following symlinks as the container would (an
 * absolute target restarts at the root, `..` stops at the root). The last component is followed
 * only when `followLast`. Missing components are kept as they are, so the result can be created.
 * Returns a relative path with no symlink among its parents.
 */
export function resolveWith(lookup: Lookup, path: string, followLast: boolean): string {
  const out: string[] = [];
  let queue = path.split("/");
  let i = 0;
  let hops = 0;
  while (i < queue.length) {
    const c = queue[i++]!;
    if (c === "" || c === ".") continue;
    if (c === "..") {
      out.pop();
      continue;
    }
    const isLast = !queue.slice(i).some((x) => x !== "" && x !== ".");
    out.push(c);
    if (isLast && !followLast) break;
    const k = lookup(out.join("/"));
    if (k === undefined) continue;
    if (k.type === "symlink") {
      if (++hops > MAX_SYMLINKS) throw new UnsafePathError(path, "too many levels of symbolic links");
      out.pop();
      const target = k.linkTarget ?? "";
      if (target.startsWith("/")) out.length = 0;
      queue = [...target.split("/"), ...queue.slice(i)];
      i = 0;
      continue;
    }
    if (k.type !== "directory" && !isLast) {
      throw new UnsafePathError(path, `"${out.join("/")}" is not a directory`);
    }
  }
  return out.join("/");
}

/** A {@link Lookup} that asks the disk (`lstat` + `readlink`) under `root`. */
export function diskLookup(root: string): Lookup {
  return (rel) => {
    const p = abs(root, rel);
    try {
      const st = lstatSync(p);
      if (st.isSymbolicLink()) return { type: "symlink", linkTarget: readlinkSync(p) };
      return { type: st.isDirectory() ? "directory" : "file" };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw e;
    }
  };
}

/** A {@link Lookup} backed by a {@link Baseline} that is known to describe the root exactly. */
export function baselineLookup(baseline: Baseline): Lookup {
  return (rel) => baseline.get(rel);
}

/**
 * Resolves `path` inside `root` as a process chrooted there would see it: symlinks (including
 * absolute ones and `..` chains) are followed but can never lead outside `root`. The last
 * component is followed too unless `options.followLast` is false. The result is an absolute path
 * inside `root`; it may not exist yet.
 *
 * @example
 * ```ts
 * // /r/etc is a symlink to /host/etc
 * await resolveInRoot("/r", "/etc/passwd"); // "/r/host/etc/passwd", never "/host/etc/passwd"
 * ```
 * @throws {UnsafePathError} on a symlink loop or a non-directory in the middle of the path.
 */
export async function resolveInRoot(
  root: string,
  path: string,
  options: { followLast?: boolean } = {},
): Promise<string> {
  // Resolve asynchronously with a prefetch of each component, then the sync resolver over the cache.
  const cache = new Map<string, { type: NodeType; linkTarget?: string } | undefined>();
  const rootAbs = join(root);
  const lookup: Lookup = (rel) => {
    if (!cache.has(rel)) throw new NeedLookup(rel);
    return cache.get(rel);
  };
  for (;;) {
    try {
      return abs(rootAbs, resolveWith(lookup, path, options.followLast ?? true));
    } catch (e) {
      if (!(e instanceof NeedLookup)) throw e;
      const p = abs(rootAbs, e.rel);
      try {
        const st = await lstat(p);
        cache.set(
          e.rel,
          st.isSymbolicLink()
            ? { type: "symlink", linkTarget: await readlink(p) }
            : { type: st.isDirectory() ? "directory" : "file" },
        );
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
        cache.set(e.rel, undefined);
      }
    }
  }
}

class NeedLookup extends Error {
  constructor(readonly rel: string) {
    super(rel);
  }
}
