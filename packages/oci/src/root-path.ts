import { lstatSync, readlinkSync } from "node:fs";
import { lstat, readlink } from "node:fs/promises";
import { PathEscapeError, PathLoopError, PathNotDirectoryError } from "./path-errors.js";

export * from "./path-errors.js";

/**
 * The one answer to "which path inside this root does this path name?", as a process chrooted
 * into the root would see it: symlinks (absolute or relative) are followed *inside* the root,
 * `..` never climbs above it. Every caller (layer extraction, the build context, RUN's working
 * directory and mount points, COPY's named sources) resolves through here, over a {@link Lookup}
 * of its own (the disk, a baseline index, a context listing).
 */

/** The most symlinks one resolution follows (Linux's `ELOOP` limit). */
export const MAX_SYMLINKS = 40;

/** What a resolver needs to know about one root-relative path; `undefined` when nothing is there. */
export type PathNode = { type: string; linkTarget?: string | undefined } | undefined;

/** Answers what is at a root-relative path (`""` is the root itself); types other than `directory` and `symlink` are all "a file". */
export type Lookup = (rel: string) => PathNode;

/** {@link Lookup}, asynchronously. */
export type AsyncLookup = (rel: string) => Promise<PathNode> | PathNode;

/** Options of {@link resolvePath}. */
export interface ResolveOptions {
  /** Follow a symlink in the last component too (default true; false answers lstat-like questions). */
  followLast?: boolean;
  /**
   * A `..` in the given path that would climb above the root: `clamp` stays at the root as the
   * kernel does (default); `refuse` throws {@link PathResolveError} `MOLT_PATH_ESCAPE`. Inside
   * symlink targets `..` always clamps.
   */
  dotdot?: "clamp" | "refuse";
  /** A non-directory met before the last component: `error` (default, `ENOTDIR`) or `missing` (treat the rest as absent). */
  notDirectory?: "error" | "missing";
}

/** Where a path landed. */
export interface ResolvedPath {
  /** The resolved root-relative path (no symlink among the existing part; `""` is the root). */
  path: string;
  /** The longest prefix of `path` that exists. */
  existing: string;
  /** The components of `path` after `existing`, which do not exist (processed lexically, as `mkdir -p` would create them). */
  missing: string[];
  /**
   * A missing component was met on the way, even if a later `..` went back above it (`zz/../a`
   * resolves lexically to `a`, where the kernel answers `ENOENT`).
   */
  passedMissing: boolean;
}

/**
 * Cleans a path lexically as seen from `/` of the root: drops empty and `.` components and a
 * leading `/`, applies `..` (clamped at the root, or refused). Returns a root-relative path, `""`
 * for the root.
 *
 * @example
 * ```ts
 * cleanRootPath("../../etc//./passwd"); // "etc/passwd"
 * cleanRootPath("a/../../b", { dotdot: "refuse" }); // throws MOLT_PATH_ESCAPE
 * cleanRootPath("a/../b", { dotdot: "forbid" }); // throws MOLT_PATH_ESCAPE (any `..`, as a layer entry name)
 * ```
 */
export function cleanRootPath(
  path: string,
  options: { dotdot?: "clamp" | "refuse" | "forbid" } = {},
): string {
  const out: string[] = [];
  for (const c of path.split("/")) {
    if (c === "" || c === ".") continue;
    if (c === "..") {
      if (options.dotdot === "forbid") throw new PathEscapeError(path, "'..' is not allowed in this path");
      if (out.length === 0 && options.dotdot === "refuse")
        throw new PathEscapeError(path, "'..' climbs above the root");
      out.pop();
    } else out.push(c);
  }
  return out.join("/");
}

/**
 * Go's `path.Clean`, for path text that is not (yet) inside a root, such as `.dockerignore` and
 * `COPY --exclude` patterns: drops empty and `.` components, applies `..` where it has a parent,
 * keeps leading `..` of a relative path, drops `..` above `/` of a rooted one; `"."` for nothing.
 *
 * @example
 * ```ts
 * cleanLexicalPath("a/c/b/.."); // "a/c"
 * cleanLexicalPath("/../a/b/../././/c"); // "/a/c"
 * cleanLexicalPath("../a"); // "../a"
 * ```
 */
export function cleanLexicalPath(path: string): string {
  if (path === "") return ".";
  const rooted = path.startsWith("/");
  const out: string[] = [];
  for (const part of path.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") {
      if (out.length > 0 && out[out.length - 1] !== "..") out.pop();
      else if (!rooted) out.push("..");
      continue;
    }
    out.push(part);
  }
  const body = out.join("/");
  if (rooted) return `/${body}`;
  return body === "" ? "." : body;
}

/**
 * Resolves `path` inside a root described by `lookup` (see the module comment). Missing
 * components end the symlink walk: the rest is applied lexically and reported in `missing`.
 *
 * @example
 * ```ts
 * // in the root, etc -> /host/etc (an absolute link, so it means <root>/host/etc)
 * resolvePath(diskLookup("/r"), "/etc/passwd").path; // "host/etc/passwd"
 * ```
 * @throws {PathResolveError} `MOLT_PATH_LOOP` after {@link MAX_SYMLINKS} links,
 * `MOLT_PATH_NOT_DIRECTORY` for a file in the middle, `MOLT_PATH_ESCAPE` with `dotdot: "refuse"`.
 */
export function resolvePath(lookup: Lookup, path: string, options: ResolveOptions = {}): ResolvedPath {
  const followLast = options.followLast ?? true;
  // `refuse` judges the path as given, lexically; inside link targets `..` clamps.
  if (options.dotdot === "refuse") cleanRootPath(path, { dotdot: "refuse" });
  const done: string[] = [];
  let queue = path.split("/");
  let i = 0;
  let hops = 0;
  let missingAt = -1; // index in `done` of the first missing component
  let passedMissing = false;
  while (i < queue.length) {
    const c = queue[i++]!;
    if (c === "" || c === ".") continue;
    if (c === "..") {
      done.pop();
      // Back above the first missing component: what follows is looked up again.
      if (missingAt >= done.length) missingAt = -1;
      continue;
    }
    const rest = queue.slice(i);
    const isLast = rest.every((x) => x === "" || x === ".");
    // A trailing "/" or "/." asks for a directory: a link there is followed, a file is ENOTDIR.
    const dirWanted = !isLast || rest.length > 0;
    done.push(c);
    if (missingAt >= 0) continue;
    const node = lookup(done.join("/"));
    if (node === undefined) {
      missingAt = done.length - 1;
      passedMissing = true;
      continue;
    }
    if (isLast && !followLast && !dirWanted) break;
    if (node.type === "symlink") {
      if (++hops > MAX_SYMLINKS)
        throw new PathLoopError(path, "too many levels of symbolic links", passedMissing);
      done.pop();
      const target = node.linkTarget ?? "";
      if (target.startsWith("/")) done.length = 0;
      queue = [...target.split("/"), ...queue.slice(i)];
      i = 0;
      continue;
    }
    if (node.type !== "directory" && dirWanted) {
      if (options.notDirectory === "missing") {
        missingAt = done.length; // what follows is absent
        passedMissing = true;
        continue;
      }
      throw new PathNotDirectoryError(path, `"${done.join("/")}" is not a directory`, passedMissing);
    }
  }
  const cut = missingAt < 0 ? done.length : missingAt;
  return {
    path: done.join("/"),
    existing: done.slice(0, cut).join("/"),
    missing: done.slice(cut),
    passedMissing: passedMissing || cut < done.length,
  };
}

class NeedLookup extends Error {
  constructor(readonly rel: string) {
    super(rel);
  }
}

/** {@link resolvePath} over an asynchronous lookup (each path looked up once). */
export async function resolvePathAsync(
  lookup: AsyncLookup,
  path: string,
  options: ResolveOptions = {},
): Promise<ResolvedPath> {
  const cache = new Map<string, PathNode>();
  const sync: Lookup = (rel) => {
    if (!cache.has(rel)) throw new NeedLookup(rel);
    return cache.get(rel);
  };
  for (;;) {
    try {
      return resolvePath(sync, path, options);
    } catch (e) {
      if (!(e instanceof NeedLookup)) throw e;
      cache.set(e.rel, await lookup(e.rel));
    }
  }
}

/** Joins a root directory and a root-relative path. */
export function inRoot(root: string, rel: string): string {
  const r = root.length > 1 && root.endsWith("/") ? root.slice(0, -1) : root;
  if (rel === "") return r || "/";
  return r === "/" || r === "" ? `/${rel}` : `${r}/${rel}`;
}

function nodeOf(isLink: boolean, isDir: boolean, target: () => string): PathNode {
  if (isLink) return { type: "symlink", linkTarget: target() };
  return { type: isDir ? "directory" : "file" };
}

function absent(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException).code;
  return code === "ENOENT" || code === "ENOTDIR";
}

/** A {@link Lookup} that asks the disk below `root` (`lstat`, `readlink`). */
export function diskLookup(root: string): Lookup {
  return (rel) => {
    const p = inRoot(root, rel);
    try {
      const st = lstatSync(p);
      return nodeOf(st.isSymbolicLink(), st.isDirectory(), () => readlinkSync(p));
    } catch (e) {
      if (absent(e)) return undefined;
      throw e;
    }
  };
}

/** {@link diskLookup}, asynchronously. */
export function asyncDiskLookup(root: string): AsyncLookup {
  return async (rel) => {
    const p = inRoot(root, rel);
    try {
      const st = await lstat(p);
      const target = st.isSymbolicLink() ? await readlink(p) : "";
      return nodeOf(st.isSymbolicLink(), st.isDirectory(), () => target);
    } catch (e) {
      if (absent(e)) return undefined;
      throw e;
    }
  };
}

/**
 * Resolves `path` inside the directory `root` on disk; returns the host path (`root` joined with
 * the resolved path) and what is missing.
 *
 * @example
 * ```ts
 * const { hostPath } = await resolveInRoot("/r", "/etc/passwd"); // never outside /r
 * ```
 */
export async function resolveInRoot(
  root: string,
  path: string,
  options: ResolveOptions = {},
): Promise<ResolvedPath & { hostPath: string }> {
  const r = await resolvePathAsync(asyncDiskLookup(root), path, options);
  return { ...r, hostPath: inRoot(root, r.path) };
}
