import { readFile, readlink, lstat as statPath } from "node:fs/promises";
import { join } from "node:path";
import { type FileEntry, PathResolveError, resolvePathAsync } from "@molt/oci";
import type { RootIndex } from "@molt/snapshotter";
import { type ImageAccounts, parseImageAccounts } from "../runner/index.js";

/** What `lstat` (and `readlink`) says about one path of a stage's root. */
export interface RootNode {
  type: "file" | "directory" | "symlink" | "char" | "block" | "fifo" | "socket";
  /** Permission bits (`mode & 0o7777`). */
  mode: number;
  uid: number;
  gid: number;
  mtimeNs: bigint;
  linkTarget?: string;
}

/**
 * The few questions COPY, ADD and WORKDIR ask of the stage's root filesystem, read-only: what
 * is at a path (not following it) and the text of a small file. Two answers: the materialised
 * directory ({@link directoryView}), or the layers' index ({@link indexView}), which needs no
 * extraction. Paths are root-relative layer paths (`etc/passwd`, `""` for the root); resolving
 * symlinks is the helpers' job ({@link isDirectoryIn}, {@link followIn}, {@link accountsIn}), so
 * both views resolve with the one resolver.
 */
export interface RootView {
  /** `directory` (materialised) or `index` (read from the layers). */
  readonly kind: "directory" | "index";
  /** The node at `path` itself (a final symlink is not followed), or undefined when nothing is there. */
  lstat(path: string): Promise<RootNode | undefined>;
  /** The bytes of the file at `path` (already resolved), or undefined when it is missing or not a file. */
  readFile(path: string): Promise<Buffer | undefined>;
}

const absent = (e: unknown) => {
  const code = (e as NodeJS.ErrnoException).code;
  return code === "ENOENT" || code === "ENOTDIR" || code === "EISDIR";
};

/** The materialised root at `root` as a {@link RootView}. */
export function directoryView(root: string): RootView {
  return {
    kind: "directory",
    async lstat(path) {
      try {
        const st = await statPath(join(root, path), { bigint: true });
        const type = st.isFile()
          ? "file"
          : st.isDirectory()
            ? "directory"
            : st.isSymbolicLink()
              ? "symlink"
              : st.isCharacterDevice()
                ? "char"
                : st.isBlockDevice()
                  ? "block"
                  : st.isFIFO()
                    ? "fifo"
                    : "socket";
        return {
          type,
          mode: Number(st.mode & 0o7777n),
          uid: Number(st.uid),
          gid: Number(st.gid),
          mtimeNs: st.mtimeNs,
          ...(type === "symlink" ? { linkTarget: await readlink(join(root, path)) } : {}),
        };
      } catch (e) {
        if (absent(e)) return undefined;
        throw e;
      }
    },
    async readFile(path) {
      try {
        return await readFile(join(root, path));
      } catch (e) {
        if (absent(e)) return undefined;
        throw e;
      }
    },
  };
}

/**
 * A {@link RootIndex} (the layers' entries merged, nothing extracted) as a {@link RootView}. The
 * index holds the bodies of only a few small files (`passwd`, `group`); reading any other file
 * asks `materialised` for the extracted root, so an answer is never guessed.
 */
export function indexView(index: RootIndex, materialised: () => Promise<RootView>): RootView {
  return {
    kind: "index",
    async lstat(path) {
      const n = index.get(path);
      if (!n) return undefined;
      return {
        type: n.type,
        mode: n.mode,
        uid: n.uid,
        gid: n.gid,
        mtimeNs: n.mtimeNs,
        ...(n.linkTarget !== undefined ? { linkTarget: n.linkTarget } : {}),
      };
    },
    async readFile(path) {
      const n = index.get(path);
      if (!n || n.type === "directory") return undefined;
      if (n.type === "file" && (n.content || n.size === 0)) return n.content ?? Buffer.alloc(0);
      return (await materialised()).readFile(path);
    },
  };
}

const lookupOf = (view: RootView) => async (rel: string) => {
  const n = await view.lstat(rel);
  return n && { type: n.type, linkTarget: n.linkTarget };
};

/**
 * Where `path` lands with every symlink resolved inside the root (the last component and
 * dangling links too, as BuildKit resolves a destination with RootPath; missing components are
 * kept so the result can be created). A path that cannot be resolved (a loop, a file in the
 * middle) is returned as given.
 */
export async function followIn(view: RootView, path: string): Promise<string> {
  if (path === "") return path;
  try {
    return (await resolvePathAsync(lookupOf(view), path, { followLast: true })).path;
  } catch (e) {
    if (e instanceof PathResolveError) return path;
    throw e;
  }
}

/** True when `path` names anything in the root, symlinks followed inside it (a dangling one is nothing). */
export async function existsIn(view: RootView, path: string): Promise<boolean> {
  try {
    const r = await resolvePathAsync(lookupOf(view), path, { followLast: true });
    return r.missing.length === 0 && (await view.lstat(r.path)) !== undefined;
  } catch (e) {
    if (e instanceof PathResolveError) return false;
    throw e;
  }
}

/** True when `path` is a directory in the root, symlinks followed inside it. */
export async function isDirectoryIn(view: RootView, path: string): Promise<boolean> {
  try {
    const r = await resolvePathAsync(lookupOf(view), path, { followLast: true });
    if (r.missing.length > 0) return false;
    return (await view.lstat(r.path))?.type === "directory";
  } catch (e) {
    if (e instanceof PathResolveError) return false;
    throw e;
  }
}

/** The text of the file at `path` (symlinks resolved inside the root), or undefined when there is none. */
export async function readTextIn(view: RootView, path: string): Promise<string | undefined> {
  try {
    const r = await resolvePathAsync(lookupOf(view), path, { followLast: true });
    if (r.missing.length > 0) return undefined;
    return (await view.readFile(r.path))?.toString("utf8");
  } catch (e) {
    if (e instanceof PathResolveError) return undefined;
    throw e;
  }
}

/** The image's `/etc/passwd` and `/etc/group`, read through the view (missing files give empty lists). */
export async function accountsIn(view: RootView): Promise<ImageAccounts> {
  return parseImageAccounts(await readTextIn(view, "etc/passwd"), await readTextIn(view, "etc/group"));
}

/**
 * Parent directories for a layer as the root has them (mode, owner, time), so a layer carries
 * each parent as the image really has it, as Docker's layers do. `path` is already resolved.
 */
export function parentsIn(view: RootView): (path: string) => Promise<FileEntry | undefined> {
  return async (path) => {
    const n = await view.lstat(path);
    if (n?.type !== "directory") return undefined;
    return { path, type: "directory", mode: n.mode, uid: n.uid, gid: n.gid, size: 0, mtimeNs: n.mtimeNs };
  };
}
