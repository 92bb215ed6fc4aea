import type { BigIntStats } from "node:fs";
import { Columns, HAS_HASH, HAS_RDEV, TYPE_CODE, TYPES } from "./baseline-columns.js";

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
 * Stored in columns (typed arrays, one slot per path, the path strings shared by the lookup
 * map and the slot table): {@link get} builds a fresh {@link BaselineEntry} on every call, so
 * entries are values — compare them by field, or use {@link stamp} to tell whether a path was
 * written again.
 *
 * @example
 * ```ts
 * const baseline = await extract(layers, "/tmp/root");
 * baseline.get("etc/passwd")?.size; // bytes of /tmp/root/etc/passwd
 * ```
 */
export class Baseline {
  /** Path → slot. */
  #slots = new Map<string, number>();
  /** Slot → path (undefined when free). */
  #paths: Array<string | undefined> = [];
  /** Directory path → slots of its recorded children. */
  #children = new Map<string, Set<number>>();
  #free: number[] = [];
  #cols = new Columns(64);
  #used = 0;
  #stamp = 0;
  #linkTargets = new Map<number, string>();
  #xattrs = new Map<number, Record<string, Buffer>>();
  /** Whether xattrs were recorded for every entry (true when built by extraction or a scan that read them). */
  xattrsKnown = true;

  /** Number of paths recorded (the root included). */
  get size(): number {
    return this.#slots.size;
  }

  /** The entry at `path`, if recorded (a new object on every call). */
  get(path: string): BaselineEntry | undefined {
    const slot = this.#slots.get(path);
    return slot === undefined ? undefined : this.#entry(slot);
  }

  /** The type of the entry at `path`, without building the entry. */
  typeOf(path: string): NodeType | undefined {
    const slot = this.#slots.get(path);
    return slot === undefined ? undefined : TYPES[this.#cols.type[slot]!];
  }

  /** The permission bits of the entry at `path`, without building the entry. */
  modeOf(path: string): number | undefined {
    const slot = this.#slots.get(path);
    return slot === undefined ? undefined : this.#cols.mode[slot];
  }

  /** The symlink target recorded at `path`, if any. */
  linkTargetOf(path: string): string | undefined {
    const slot = this.#slots.get(path);
    return slot === undefined ? undefined : this.#linkTargets.get(slot);
  }

  /** Whether non-empty xattrs are recorded at `path`. */
  hasXattrs(path: string): boolean {
    const slot = this.#slots.get(path);
    return slot !== undefined && this.#xattrs.has(slot);
  }

  /**
   * A number that changes whenever `path` is written again ({@link set}), `undefined` when it is
   * not recorded: tells "the entry I saw" from "one that replaced it".
   */
  stamp(path: string): number | undefined {
    const slot = this.#slots.get(path);
    return slot === undefined ? undefined : this.#cols.stamp[slot];
  }

  /** Whether `path` is recorded. */
  has(path: string): boolean {
    return this.#slots.has(path);
  }

  /** Records `entry` at `path` (its parent directory's child list is updated). */
  set(path: string, entry: BaselineEntry): void {
    let slot = this.#slots.get(path);
    if (slot === undefined) {
      slot = this.#alloc(path);
      if (path !== "") {
        const parent = parentOf(path);
        let kids = this.#children.get(parent);
        if (!kids) {
          kids = new Set();
          this.#children.set(parent, kids);
        }
        kids.add(slot);
      }
    }
    const c = this.#cols;
    c.type[slot] = TYPE_CODE[entry.type];
    c.mode[slot] = entry.mode;
    c.uid[slot] = entry.uid;
    c.gid[slot] = entry.gid;
    c.nlink[slot] = entry.nlink;
    c.size[slot] = entry.size;
    c.ctimeMs[slot] = entry.ctimeMs;
    c.mtimeNs[slot] = entry.mtimeNs;
    c.ctimeNs[slot] = entry.ctimeNs;
    c.ino[slot] = entry.ino;
    c.stamp[slot] = ++this.#stamp;
    let flags = 0;
    if (entry.hash !== undefined) {
      flags |= HAS_HASH;
      c.hash[slot] = entry.hash;
    }
    if (entry.rdev !== undefined) {
      flags |= HAS_RDEV;
      c.rdev[slot] = entry.rdev;
    }
    c.flags[slot] = flags;
    if (entry.linkTarget !== undefined) this.#linkTargets.set(slot, entry.linkTarget);
    else this.#linkTargets.delete(slot);
    if (entry.xattrs !== undefined) this.#xattrs.set(slot, entry.xattrs);
    else this.#xattrs.delete(slot);
    if (entry.type !== "directory") this.#dropChildren(path);
  }

  /** The recorded children of directory `path`: name → entry (built on each call). */
  children(path: string): ReadonlyMap<string, BaselineEntry> {
    const kids = this.#children.get(path);
    if (!kids) return EMPTY;
    const out = new Map<string, BaselineEntry>();
    const cut = path === "" ? 0 : path.length + 1;
    for (const slot of kids) out.set(this.#paths[slot]!.slice(cut), this.#entry(slot));
    return out;
  }

  /** The names of the recorded children of directory `path`. */
  childNames(path: string): string[] {
    const kids = this.#children.get(path);
    if (!kids) return [];
    const cut = path === "" ? 0 : path.length + 1;
    const out: string[] = [];
    for (const slot of kids) out.push(this.#paths[slot]!.slice(cut));
    return out;
  }

  /** Removes `path` and everything recorded below it. */
  delete(path: string): void {
    const slot = this.#slots.get(path);
    if (slot === undefined) return;
    this.#release(path, slot);
    if (path !== "") this.#children.get(parentOf(path))?.delete(slot);
    this.#dropChildren(path);
  }

  #dropChildren(path: string): void {
    const kids = this.#children.get(path);
    if (!kids) return;
    this.#children.delete(path);
    for (const slot of kids) {
      const child = this.#paths[slot]!;
      this.#release(child, slot);
      this.#dropChildren(child);
    }
  }

  #alloc(path: string): number {
    let slot = this.#free.pop();
    if (slot === undefined) {
      slot = this.#used++;
      if (slot >= this.#cols.capacity) this.#cols = this.#cols.copy(this.#cols.capacity * 2, slot);
    }
    this.#slots.set(path, slot);
    this.#paths[slot] = path;
    return slot;
  }

  #release(path: string, slot: number): void {
    this.#slots.delete(path);
    this.#paths[slot] = undefined;
    this.#linkTargets.delete(slot);
    this.#xattrs.delete(slot);
    this.#free.push(slot);
  }

  #entry(slot: number): BaselineEntry {
    const c = this.#cols;
    const e: BaselineEntry = {
      type: TYPES[c.type[slot]!]!,
      mode: c.mode[slot]!,
      uid: c.uid[slot]!,
      gid: c.gid[slot]!,
      size: c.size[slot]!,
      mtimeNs: c.mtimeNs[slot]!,
      ctimeNs: c.ctimeNs[slot]!,
      ctimeMs: c.ctimeMs[slot]!,
      ino: c.ino[slot]!,
      nlink: c.nlink[slot]!,
    };
    const flags = c.flags[slot]!;
    if (flags & HAS_RDEV) e.rdev = c.rdev[slot]!;
    if (flags & HAS_HASH) e.hash = c.hash[slot]!;
    const link = this.#linkTargets.get(slot);
    if (link !== undefined) e.linkTarget = link;
    const x = this.#xattrs.get(slot);
    if (x !== undefined) e.xattrs = x;
    return e;
  }

  /** Every `[path, entry]` pair (entries built as they are reached). */
  *entries(): IterableIterator<[string, BaselineEntry]> {
    for (const [p, slot] of this.#slots) yield [p, this.#entry(slot)];
  }

  /** An independent copy. */
  clone(): Baseline {
    const b = new Baseline();
    b.#slots = new Map(this.#slots);
    b.#paths = [...this.#paths];
    for (const [p, k] of this.#children) b.#children.set(p, new Set(k));
    b.#free = [...this.#free];
    b.#cols = this.#cols.copy(this.#cols.capacity, this.#used);
    b.#used = this.#used;
    b.#stamp = this.#stamp;
    b.#linkTargets = new Map(this.#linkTargets);
    b.#xattrs = new Map(this.#xattrs);
    b.xattrsKnown = this.xattrsKnown;
    return b;
  }
}

const EMPTY: ReadonlyMap<string, BaselineEntry> = new Map();
