import { join } from "node:path";
import {
  asyncDiskLookup,
  cleanRootPath,
  MAX_SYMLINKS as OCI_MAX_SYMLINKS,
  diskLookup as ociDiskLookup,
  PathResolveError,
  resolvePath,
  resolvePathAsync,
} from "@molt/oci";
import type { Baseline, NodeType } from "./baseline.js";
import { UnsafePathError } from "./errors.js";

/** The most symlinks one resolution follows before giving up (as Linux's `ELOOP`). */
export const MAX_SYMLINKS = OCI_MAX_SYMLINKS;

/**
 * Cleans a path lexically as the container would see it from `/`: drops `.`, empty and leading
 * `/` components and applies `..` without ever going above the root. Returns a relative path
 * (`""` for the root itself). The one cleaner, `cleanRootPath` of `@molt/oci`.
 *
 * @example
 * ```ts
 * cleanPath("../../etc//./passwd"); // "etc/passwd"
 * ```
 */
export function cleanPath(path: string): string {
  // Most tar names are clean already (`usr/bin/x`) or only prefixed `./` (GNU tar's `-C dir .`):
  // those are returned without splitting and joining them (issue 16: per entry of a layer).
  if (!UNCLEAN.test(path)) return path;
  if (path.startsWith("./")) {
    const rest = path.slice(2);
    if (!UNCLEAN.test(rest)) return rest;
  }
  return cleanRootPath(path);
}

/** Matches a path with an empty, `.` or `..` component (a leading, trailing or doubled `/` included). */
const UNCLEAN = /(?:^|\/)\.{0,2}(?:\/|$)/;

/** Joins a root and a relative path produced by {@link cleanPath} or a resolver. */
export function abs(root: string, rel: string): string {
  return rel === "" ? root || "/" : `${root}/${rel}`;
}

/** What a resolver needs to know about one relative path, or `undefined` when nothing is there. */
export type Lookup = (rel: string) => { type: NodeType; linkTarget?: string | undefined } | undefined;

function unsafe(e: unknown): unknown {
  return e instanceof PathResolveError ? new UnsafePathError(e.path, e.reason, { cause: e }) : e;
}

/**
 * Resolves `path` inside a root with `lookup`, following symlinks as the container would (an
 * absolute target restarts at the root, `..` stops at the root) — `resolvePath` of `@molt/oci`.
 * The last component is followed only when `followLast`. Missing components are kept as they
 * are, so the result can be created. Returns a relative path with no symlink among its parents.
 *
 * @throws {UnsafePathError} on a symlink loop or a non-directory in the middle of the path.
 */
export function resolveWith(lookup: Lookup, path: string, followLast: boolean): string {
  try {
    return resolvePath(lookup, path, { followLast }).path;
  } catch (e) {
    throw unsafe(e);
  }
}

/** A {@link Lookup} that asks the disk (`lstat` + `readlink`) under `root`. */
export function diskLookup(root: string): Lookup {
  const disk = ociDiskLookup(root);
  return (rel) => disk(rel) as ReturnType<Lookup>;
}

/** A {@link Lookup} backed by a {@link Baseline} that is known to describe the root exactly. */
export function baselineLookup(baseline: Baseline): Lookup {
  return (rel) => {
    const type = baseline.typeOf(rel);
    return type === undefined ? undefined : { type, linkTarget: baseline.linkTargetOf(rel) };
  };
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
  try {
    const r = await resolvePathAsync(asyncDiskLookup(join(root)), path, {
      followLast: options.followLast ?? true,
    });
    return abs(join(root), r.path);
  } catch (e) {
    throw unsafe(e);
  }
}
