import type { BigIntStats } from "node:fs";

/** The kind of an entry on disk (a hardlink is just another name of a `file`). */
export type NodeType = "file" | "directory" | "symlink" | "char" | "block" | "fifo" | "socket";

/**
 * What the snapshotter knows about one path of the root: enough stat data to tell, without
 * reading content, whether it changed.
 */
export interface BaselineEntry {
  type: NodeType;
  /** Permission bits (`mode & 0o7777`). */
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtimeNs: bigint;
  ctimeNs: bigint;
  /** `ctimeNs` as the millisecond double that a non-bigint `lstat` reports (`ctimeMs`), for walk mode's fast path. */
  ctimeMs: number;
  ino: bigint;
  nlink: number;
  /** Symlink target as stored. */
  linkTarget?: string;
  /** Device numbers of character and block devices. */
  rdev?: number;
  /** Extended attributes, when known to be non-empty. `undefined` means none (or unknown when {@link Baseline.xattrsKnown} is false). */
  xattrs?: Record<string, Buffer>;
  /** xxh64 of a regular file's content, when it was computed (during extraction). */
  hash?: bigint;
}

/** Maps `lstat` (bigint) results to a {@link NodeType}. */
export function nodeType(st: BigIntStats): NodeType {
  if (st.isFile()) return "file";
  if (st.isDirectory()) return "directory";
  if (st.isSymbolicLink()) return "symlink";
  if (st.isCharacterDevice()) return "char";
  if (st.isBlockDevice()) return "block";
  if (st.isFIFO()) return "fifo";
  return "socket";
}

/** The double Node's non-bigint stat computes for a time (`sec * 1e3 + nsec / 1e6`), from nanoseconds. */
export function msFromNs(ns: bigint): number {
  return Number(ns / 1_000_000_000n) * 1e3 + Number(ns % 1_000_000_000n) / 1e6;
}

/** Builds a {@link BaselineEntry} from an `lstat` result (plus what `lstat` cannot tell). */
export function entryFromStat(
  st: BigIntStats,
  extra?: { linkTarget?: string; xattrs?: Record<string, Buffer>; hash?: bigint },
): BaselineEntry {
  const type = nodeType(st);
  const e: BaselineEntry = {
    type,
    mode: Number(st.mode & 0o7777n),
    uid: Number(st.uid),
    gid: Number(st.gid),
    size: type === "file" ? Number(st.size) : 0,
    mtimeNs: st.mtimeNs,
    ctimeNs: st.ctimeNs,
    ctimeMs: msFromNs(st.ctimeNs),
    ino: st.ino,
    nlink: Number(st.nlink),
  };
  if (type === "char" || type === "block") e.rdev = Number(st.rdev);
  if (extra?.linkTarget !== undefined) e.linkTarget = extra.linkTarget;
  if (extra?.xattrs && Object.keys(extra.xattrs).length > 0) e.xattrs = extra.xattrs;
  if (extra?.hash !== undefined) e.hash = extra.hash;
  return e;
}

const parentOf = (p: string): string => {
  const i = p.lastIndexOf("/");
  return i < 0 ? "" : p.slice(0, i);
};

/**
 * The index of a root directory as the snapshotter last saw it: relative path (`usr/bin/x`,
 * `""` for the root itself) → {@link BaselineEntry}, with a children index so a subtree can be
 * listed or dropped without scanning every path.
 *
 * @example
 * ```ts
 * const baseline = await extract(layers, "/tmp/root");
 * baseline.get("etc/passwd")?.size; // bytes of /tmp/root/etc/passwd
 * ```
 */
export class Baseline {
  readonly #entries = new Map<string, BaselineEntry>();
  /** Directory path → (child name → entry): walks look children up by short name. */
  readonly #children = new Map<string, Map<string, BaselineEntry>>();
  /** Whether xattrs were recorded for every entry (true when built by extraction or a scan that read them). */
  xattrsKnown = true;

  /** Number of paths recorded (the root included). */
  get size(): number {
    return this.#entries.size;
  }

  /** The entry at `path`, if recorded. */
  get(path: string): BaselineEntry | undefined {
    return this.#entries.get(path);
  }

  /** Whether `path` is recorded. */
  has(path: string): boolean {
    return this.#entries.has(path);
  }

  /** Records `entry` at `path` (its parent directory's child list is updated). */
  set(path: string, entry: BaselineEntry): void {
    if (path !== "") {
      const parent = parentOf(path);
      let kids = this.#children.get(parent);
      if (!kids) {
        kids = new Map();
        this.#children.set(parent, kids);
      }
      kids.set(path.slice(parent === "" ? 0 : parent.length + 1), entry);
    }
    this.#entries.set(path, entry);
    if (entry.type !== "directory") this.#dropChildren(path);
  }

  /** The recorded children of directory `path`: name → entry. */
  children(path: string): ReadonlyMap<string, BaselineEntry> {
    return this.#children.get(path) ?? EMPTY;
  }

  /** Removes `path` and everything recorded below it. */
  delete(path: string): void {
    if (!this.#entries.delete(path)) return;
    const parent = parentOf(path);
    this.#children.get(parent)?.delete(path.slice(parent === "" ? 0 : parent.length + 1));
    this.#dropChildren(path);
  }

  #dropChildren(path: string): void {
    const kids = this.#children.get(path);
    if (!kids) return;
    this.#children.delete(path);
    for (const name of kids.keys()) {
      const child = path === "" ? name : `${path}/${name}`;
      this.#entries.delete(child);
      this.#dropChildren(child);
    }
  }

  /** Every `[path, entry]` pair, in insertion order. */
  entries(): IterableIterator<[string, BaselineEntry]> {
    return this.#entries.entries();
  }

  /** A deep-enough copy (entries are replaced, never mutated, so they are shared). */
  clone(): Baseline {
    const b = new Baseline();
    for (const [p, e] of this.#entries) b.#entries.set(p, e);
    for (const [p, k] of this.#children) b.#children.set(p, new Map(k));
    b.xattrsKnown = this.xattrsKnown;
    return b;
  }
}

const EMPTY: ReadonlyMap<string, BaselineEntry> = new Map();
