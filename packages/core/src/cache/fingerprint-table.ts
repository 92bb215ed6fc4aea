import type { LayerFingerprints } from "./layer-delta.js";

/** Characters of one fingerprint: the tar type flag, then {@link DIGEST} hex digits of a sha256. */
const WIDTH = 65;
const DIGEST = WIDTH - 1;
const NUL = 0;

/** A {@link FingerprintTable} as a snapshot's `meta.json` holds it (format version 2). */
export interface StoredFingerprints {
  /** Entries in the table. */
  count: number;
  /** Every path followed by a NUL (no tar path holds one), in table order. */
  paths: string;
  /** Each fingerprint's first character (the tar type flag), in table order. */
  types: string;
  /** The rest of each fingerprint (64 hex digits), in table order. */
  digests: string;
  /** See {@link LayerFingerprints.shadowed}. */
  shadowed: string[];
}

/** A stored table whose fields do not fit together: never out of this module's callers, which then make a new snapshot. */
const inconsistent = () => new Error("inconsistent fingerprint table");

/**
 * A snapshot's {@link LayerFingerprints} in three long strings, in the order of the layer: the
 * paths, the type flags and the digests. It is what a warm build reads and compares instead of
 * a path → fingerprint object: for the repro's 20,000-file COPY, parsing that object out of
 * `meta.json` cost ~11 ms CPU and listing its keys again ~4 ms (plus ~1 MB of young garbage);
 * the strings parse in ~2.4 ms, a layer written in the same order is matched against them whole
 * (`written-match.ts`), and any other entry by entry without a map lookup per entry
 * ({@link FingerprintTable.lookup}).
 */
export class FingerprintTable {
  readonly count: number;
  readonly shadowed: readonly string[];
  /** The paths as stored: each followed by a NUL. */
  readonly paths: string;
  /** The type flags as stored: one character per entry. */
  readonly types: string;
  /** The digests as stored: 64 characters per entry. */
  readonly digests: string;
  /** Path → index and each path's offset in `#paths`, built on the first lookup out of order. */
  #index: Map<string, number> | undefined;
  #starts: number[] | undefined;
  #list: string[] | undefined;

  private constructor(
    count: number,
    paths: string,
    types: string,
    digests: string,
    shadowed: readonly string[],
  ) {
    this.count = count;
    this.paths = paths;
    this.types = types;
    this.digests = digests;
    this.shadowed = shadowed;
  }

  /**
   * The table of `fp` (its paths in key order), or undefined when a fingerprint is not of the
   * {@link WIDTH} every tar entry's is, or a path holds a NUL.
   */
  static of(fp: LayerFingerprints): FingerprintTable | undefined {
    const paths = Object.keys(fp.entries);
    const types: string[] = [];
    const digests: string[] = [];
    for (const p of paths) {
      const f = fp.entries[p]!;
      if (f.length !== WIDTH || p.includes("\0")) return undefined;
      types.push(f[0]!);
      digests.push(f.slice(1));
    }
    const joined = paths.length === 0 ? "" : `${paths.join("\0")}\0`;
    return new FingerprintTable(paths.length, joined, types.join(""), digests.join(""), [...fp.shadowed]);
  }

  /** The table that {@link FingerprintTable.toStored} gave. Throws when the fields do not fit. */
  static fromStored(v: StoredFingerprints): FingerprintTable {
    const { count, paths, types, digests, shadowed } = v ?? ({} as StoredFingerprints);
    if (
      !Number.isInteger(count) ||
      count < 0 ||
      typeof paths !== "string" ||
      typeof types !== "string" ||
      typeof digests !== "string" ||
      types.length !== count ||
      digests.length !== count * DIGEST ||
      (count === 0 ? paths !== "" : paths.charCodeAt(paths.length - 1) !== NUL) ||
      !Array.isArray(shadowed) ||
      !shadowed.every((s) => typeof s === "string")
    )
      throw inconsistent();
    return new FingerprintTable(count, paths, types, digests, shadowed);
  }

  /** What `meta.json` keeps of the table. */
  toStored(): StoredFingerprints {
    return {
      count: this.count,
      paths: this.paths,
      types: this.types,
      digests: this.digests,
      shadowed: [...this.shadowed],
    };
  }

  /**
   * A lookup of paths in table order: each call gives the index of `path` (-1 when the table has
   * none). A path that is the next one after the last found is matched in place, in the long
   * string; any other is looked up in an index built on the first such call. Throws when the
   * table's paths are not `count` distinct ones (as {@link FingerprintTable.pathAt} does).
   */
  lookup(): (path: string) => number {
    const all = this.paths;
    const count = this.count;
    let next = 0;
    let at = 0;
    return (path) => {
      if (next < count && all.startsWith(path, at) && all.charCodeAt(at + path.length) === NUL) {
        at += path.length + 1;
        return next++;
      }
      const i = this.#indexed().get(path);
      if (i === undefined) return -1;
      next = i + 1;
      at = next < count ? this.#starts![next]! : all.length;
      return i;
    };
  }

  /** Whether entry `i` is the fingerprint of an entry of `type` (one character) whose bytes hash to `digest` (no link). */
  isFingerprint(i: number, type: string, digest: string): boolean {
    return (
      type.length === 1 &&
      digest.length === DIGEST &&
      this.types.charCodeAt(i) === type.charCodeAt(0) &&
      this.digests.startsWith(digest, i * DIGEST)
    );
  }

  /** The fingerprint of entry `i`. */
  fingerprintAt(i: number): string {
    return this.types[i]! + this.digests.slice(i * DIGEST, (i + 1) * DIGEST);
  }

  /** Whether entry `i` is a directory (type flag `5`). */
  isDirectory(i: number): boolean {
    return this.types.charCodeAt(i) === 0x35;
  }

  /** The path of entry `i`. */
  pathAt(i: number): string {
    this.#indexed();
    return this.#list![i]!;
  }

  #indexed(): Map<string, number> {
    if (this.#index) return this.#index;
    const list = this.count === 0 ? [] : this.paths.slice(0, -1).split("\0");
    const index = new Map<string, number>();
    const starts: number[] = [];
    let at = 0;
    for (let i = 0; i < list.length; i++) {
      index.set(list[i]!, i);
      starts.push(at);
      at += list[i]!.length + 1;
    }
    if (list.length !== this.count || index.size !== this.count) throw inconsistent();
    this.#list = list;
    this.#starts = starts;
    this.#index = index;
    return index;
  }
}

/**
 * The paths of `table` that `seen` (one mark per entry) does not mark, in table order: what a
 * new layer removed. `marked` is how many entries are marked: when all are, nothing is listed.
 */
export function unmarkedPaths(table: FingerprintTable, seen: Uint8Array, marked: number): string[] {
  if (marked === table.count) return [];
  const out: string[] = [];
  for (let i = 0; i < table.count; i++) if (seen[i] === 0) out.push(table.pathAt(i));
  return out;
}
