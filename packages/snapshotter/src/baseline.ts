import { Columns, HAS_HASH, HAS_RDEV, TYPE_CODE, TYPES } from "./baseline-columns.js";
import { type BaselineEntry, msFromNs, type NodeType } from "./baseline-entry.js";

export { type BaselineEntry, entryFromStat, msFromNs, type NodeType, nodeType } from "./baseline-entry.js";

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

  /**
   * A baseline holding exactly the slots of `src`, slot `i` at `src.paths[i]`, as recording them
   * one by one with {@link set} in that order would leave it (stamps `1…n` included), but copied
   * column by column: no entry object, no bigint per field (a stored 20,000-entry root index is
   * read on every warm build). `undefined` when recording them one by one would not keep them
   * all: a path twice, an unknown type code, or a non-directory recorded after a child of its own.
   * @internal
   */
  static fromColumns(src: BaselineColumns): Baseline | undefined {
    const paths = src.paths;
    const n = paths.length;
    let capacity = 64;
    while (capacity < n) capacity *= 2;
    const c = new Columns(capacity);
    for (const k of COPIED)
      (c[k] as { set(a: ArrayLike<unknown>): void }).set(src[k].subarray(0, n) as never);
    // A stored `ctimeMs` is what `set` recorded; without one it is derived (three bigints per
    // slot: 20,000 slots cost ~6 ms and 60,000 short-lived objects).
    const stored = src.ctimeMs;
    const derive = stored === undefined;
    if (stored !== undefined) c.ctimeMs.set(stored.subarray(0, n));
    const b = new Baseline();
    const slots = b.#slots;
    const children = b.#children;
    const dirCode = TYPE_CODE.directory;
    // Paths come grouped by directory (extraction order): the previous path's parent is usually
    // this one's too, and then its child set is reused without slicing the parent out and hashing it.
    let lastParent = "";
    let lastKids: Set<number> | undefined;
    for (let i = 0; i < n; i++) {
      const path = paths[i];
      if (typeof path !== "string" || c.type[i]! >= TYPES.length) return undefined;
      slots.set(path, i);
      c.stamp[i] = i + 1;
      if (derive) c.ctimeMs[i] = msFromNs(c.ctimeNs[i]!);
      if (path === "") continue;
      // parentOf(path) is path's first `cut` characters
      const cut = Math.max(0, path.lastIndexOf("/"));
      let kids = lastKids;
      if (kids === undefined || cut !== lastParent.length || !path.startsWith(lastParent)) {
        lastParent = path.slice(0, cut);
        kids = children.get(lastParent);
        if (!kids) {
          kids = new Set();
          children.set(lastParent, kids);
        }
        lastKids = kids;
      }
      kids.add(i);
    }
    // A path twice: fewer keys than slots.
    if (slots.size !== n) return undefined;
    // `set` drops the children recorded so far of a path it records as a non-directory.
    for (const [parent, kids] of children) {
      const at = slots.get(parent);
      if (at === undefined || c.type[at] === dirCode) continue;
      for (const k of kids) if (k < at) return undefined;
    }
    b.#paths = paths.slice();
    b.#cols = c;
    b.#used = n;
    b.#stamp = n;
    for (const [i, link] of src.linkTargets)
      if (Number.isInteger(i) && i >= 0 && i < n) b.#linkTargets.set(i, link);
    for (const [i, x] of src.xattrs) if (Number.isInteger(i) && i >= 0 && i < n) b.#xattrs.set(i, x);
    return b;
  }

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

/** The columns {@link Baseline.fromColumns} copies as they are. */
const COPIED = [
  "type",
  "flags",
  "mode",
  "uid",
  "gid",
  "nlink",
  "size",
  "rdev",
  "mtimeNs",
  "ctimeNs",
  "ino",
  "hash",
] as const;

/**
 * The slots of a {@link Baseline} as columns, slot `i` at `paths[i]` (what a stored root index
 * holds): each column has at least `paths.length` values; `hash` and `rdev` count only where
 * `flags` says so. @internal
 */
export type BaselineColumns = Pick<Columns, (typeof COPIED)[number]> & {
  /** `ctimeMs` as recorded; without it, derived from `ctimeNs` as a scan would. */
  ctimeMs?: Float64Array | undefined;
  paths: readonly string[];
  /** Symlink targets by slot. */
  linkTargets: ReadonlyMap<number, string>;
  /** Non-empty xattrs by slot. */
  xattrs: ReadonlyMap<number, Record<string, Buffer>>;
};
