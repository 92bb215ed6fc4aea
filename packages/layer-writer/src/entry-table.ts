import type { EntryType, FileEntry } from "@molt/oci";

const TYPES: readonly EntryType[] = ["file", "directory", "symlink", "hardlink", "char", "block", "fifo"];
const TYPE_CODE = new Map<string, number>(TYPES.map((t, i) => [t, i]));
/** Type code of hardlinks in {@link EntryTable.types}. */
export const HARDLINK_CODE = TYPE_CODE.get("hardlink")!;
/** Type code of regular files in {@link EntryTable.types}. */
export const FILE_CODE = TYPE_CODE.get("file")!;

/** True when `t` is a type a layer can hold (sockets and unknown kinds are not). */
export function isStorableType(t: string): boolean {
  return TYPE_CODE.has(t);
}

/**
 * The added entries of a layer while it is planned and written, one slot each, in columns
 * rather than one object per entry: a plain file or directory costs its path string and ~60 bytes
 * of typed arrays, and the caller's `FileEntry` objects are not retained (so a caller streaming
 * 20,000 changes does not keep 20,000 objects alive, nor grow V8's young generation by making
 * them survive). Entries with anything beyond plain stat fields (link targets, device numbers,
 * xattrs, `open()`, an mtime outside ±292 years) keep their `FileEntry` as given. A `source` that is
 * `<prefix>/<path>` is stored as an index into a small prefix table.
 * @internal
 */
export class EntryTable {
  /**
   * @param keepSources keep each `source` string as given rather than as a prefix index. For
   * callers that hold their entries anyway (so the strings live on regardless) and look sources
   * up by string: the given string's hash is cached in it, while one rebuilt from the prefix is
   * flattened and hashed again at each lookup (a 20,000-file COPY's `knownBytes`).
   */
  constructor(private readonly keepSources = false) {}

  count = 0;
  #cap = 0;
  /** Normalised in-layer path of each slot. */
  readonly paths: string[] = [];
  /** The caller's entry, for entries that are not plain (else undefined). */
  readonly rich: (FileEntry | undefined)[] = [];
  /** Explicit `source` of plain entries whose source is not `<prefix>/<path>`. */
  readonly sources: (string | undefined)[] = [];
  types = new Uint8Array(0);
  #modes = new Float64Array(0);
  #uids = new Float64Array(0);
  #gids = new Float64Array(0);
  #sizes = new Float64Array(0);
  #mtimes = new BigInt64Array(0);
  /** Index+1 into `#prefixes` of a derived source; 0 when none. */
  #prefixOf = new Uint32Array(0);
  readonly #prefixes: string[] = [];
  readonly #prefixIds = new Map<string, number>();

  #grow(): void {
    const cap = Math.max(1024, this.#cap * 2);
    const g = <T extends Uint8Array | Float64Array | BigInt64Array | Uint32Array>(a: T, n: T): T => {
      n.set(a as never);
      return n;
    };
    this.types = g(this.types, new Uint8Array(cap));
    this.#modes = g(this.#modes, new Float64Array(cap));
    this.#uids = g(this.#uids, new Float64Array(cap));
    this.#gids = g(this.#gids, new Float64Array(cap));
    this.#sizes = g(this.#sizes, new Float64Array(cap));
    this.#mtimes = g(this.#mtimes, new BigInt64Array(cap));
    this.#prefixOf = g(this.#prefixOf, new Uint32Array(cap));
    this.#cap = cap;
  }

  /** Adds a slot for `entry` at normalised `path`; returns its index. */
  add(path: string, entry: FileEntry): number {
    if (this.count === this.#cap) this.#grow();
    const slot = this.count++;
    this.paths.push(path);
    this.rich.push(undefined);
    this.sources.push(undefined);
    this.set(slot, path, entry);
    return slot;
  }

  /** Replaces the entry of `slot` (a later change to the same path). */
  set(slot: number, path: string, entry: FileEntry): void {
    this.types[slot] = TYPE_CODE.get(entry.type)!;
    const m = entry.mtimeNs;
    const plain =
      entry.linkTarget === undefined &&
      entry.devMajor === undefined &&
      entry.devMinor === undefined &&
      entry.xattrs === undefined &&
      entry.open === undefined &&
      typeof entry.mode === "number" &&
      typeof entry.uid === "number" &&
      typeof entry.gid === "number" &&
      typeof entry.size === "number" &&
      typeof m === "bigint" &&
      m === BigInt.asIntN(64, m);
    if (!plain) {
      this.rich[slot] = entry;
      this.sources[slot] = undefined;
      this.#prefixOf[slot] = 0;
      return;
    }
    this.rich[slot] = undefined;
    this.#modes[slot] = entry.mode;
    this.#uids[slot] = entry.uid;
    this.#gids[slot] = entry.gid;
    this.#sizes[slot] = entry.size;
    this.#mtimes[slot] = m;
    this.sources[slot] = undefined;
    this.#prefixOf[slot] = 0;
    const src = entry.source;
    if (src === undefined) return;
    if (this.keepSources) {
      this.sources[slot] = src;
      return;
    }
    const k = src.length - path.length - 1;
    if (k >= 0 && src.charCodeAt(k) === 0x2f && src.endsWith(path)) {
      const prefix = src.slice(0, k);
      let id = this.#prefixIds.get(prefix);
      if (id === undefined) {
        if (this.#prefixes.length >= 64) {
          this.sources[slot] = src;
          return;
        }
        id = this.#prefixes.push(prefix);
        this.#prefixIds.set(prefix, id);
      }
      this.#prefixOf[slot] = id;
    } else {
      this.sources[slot] = src;
    }
  }

  /** True when the slot holds the caller's own object (link, device, xattrs, stream…). */
  isRich(slot: number): boolean {
    return this.rich[slot] !== undefined;
  }

  /**
   * The entry of a slot: the caller's object for rich entries, else a fresh object with the
   * stored fields (`path` normalised).
   */
  entry(slot: number): FileEntry {
    const r = this.rich[slot];
    if (r) return r;
    const e: FileEntry = {
      path: this.paths[slot]!,
      type: TYPES[this.types[slot]!]!,
      mode: this.#modes[slot]!,
      uid: this.#uids[slot]!,
      gid: this.#gids[slot]!,
      size: this.#sizes[slot]!,
      mtimeNs: this.#mtimes[slot]!,
    };
    const p = this.#prefixOf[slot]!;
    const source = p ? `${this.#prefixes[p - 1]}/${this.paths[slot]}` : this.sources[slot];
    if (source !== undefined) e.source = source;
    return e;
  }
}
