import type { WrittenEntries } from "@molt/layer-writer";
import { type FingerprintTable, unmarkedPaths } from "./fingerprint-table.js";
import { entryFingerprint, isWhiteout, layerPath } from "./layer-delta.js";

/**
 * In the joined paths (a NUL before each, after each): an entry `layerPath` would clean up again
 * (one that starts with `./` or `/`, ends with `/`, or is `.`) or a whiteout (a component that
 * starts with `.wh.`; one that is not the last one goes the general way too, which tells).
 */
const UNCLEAN = /\0\.\/|\0\/|\/\0|\0\.\0|\0\.wh\.|\/\.wh\./;

/** Entries compared at once by {@link matchInOrder} before one by one. */
const BLOCK = 256;

/** Which entries of a written layer differ from a snapshot's fingerprints of the layer it replaces. */
export interface WrittenMatch {
  /** Indices of the entries that are changed or new, in layer order. */
  changed: number[];
  /** Paths of the old layer the new one no longer has. */
  removed: string[];
  /** Index of the entry at layer path `p` (the last, if a path were written twice), undefined when none. */
  indexOf(p: string): number | undefined;
}

/**
 * {@link WrittenMatch} of a layer written with the very paths, in the very order, and types of
 * the old one, and without hard links (a COPY of the same tree with some files' contents
 * changed), found with a few whole-string comparisons: the paths, the type flags and the digests
 * joined, then one comparison per entry only when the digests differ. The general loop cost ~50
 * ms CPU for the repro's 20,000 entries, mostly in the interpreter (one lookup, whiteout test and
 * path clean-up per entry); this costs a few. `undefined` when the layer is not such a one.
 */
export function matchInOrder(written: WrittenEntries, old: FingerprintTable): WrittenMatch | undefined {
  const n = written.paths.length;
  if (n === 0 || n !== old.count || written.linkTargets.some((l) => l !== undefined)) return undefined;
  const joined = `${written.paths.join("\0")}\0`;
  if (joined !== old.paths) return undefined;
  // Each path as written is then its table path, which `layerPath` left as it was unless it
  // could be cleaned up again; a cleaned-up path or a whiteout goes the general way.
  const all = `\0${joined}`;
  if (UNCLEAN.test(all)) return undefined;
  if (written.types.join("") !== old.types) return undefined;
  const digests = written.digests.join("");
  if (digests.length !== old.digests.length) return undefined;
  const changed: number[] = [];
  // (each digest is a sha256 in hex, 64 characters, as `WrittenEntries` says and the table's are)
  if (digests !== old.digests) {
    const d = old.digests;
    const width = d.length / n;
    // Blocks of entries first (a slice of a flat string is not a copy), then the entries of a
    // block that differs: one call per 256 entries where nothing changed.
    for (let from = 0; from < n; from += BLOCK) {
      const to = Math.min(n, from + BLOCK);
      if (d.startsWith(digests.slice(from * width, to * width), from * width)) continue;
      for (let i = from; i < to; i++) {
        const digest = written.digests[i]!;
        if (digest.length !== width || !d.startsWith(digest, i * width)) changed.push(i);
      }
    }
  }
  // The paths are the table's, which are distinct: an entry found is the only one at its path.
  let found: Map<string, number> | undefined;
  return {
    changed,
    removed: [],
    indexOf(p) {
      if (!found) found = lastIndices(written.paths, ancestors(changed.map((i) => written.paths[i]!)));
      if (found.has(p)) return found.get(p);
      const i = written.paths.lastIndexOf(p);
      return i < 0 ? undefined : i;
    },
  };
}

/** The directories above `paths` (the root `""` included). */
function ancestors(paths: readonly string[]): Set<string> {
  const out = new Set<string>();
  for (const p of paths) {
    for (let i = p.lastIndexOf("/"); i > 0; i = p.lastIndexOf("/", i - 1)) out.add(p.slice(0, i));
    out.add("");
  }
  return out;
}

/** The index of the last entry at each of `wanted` that `paths` has, in one pass from the end. */
function lastIndices(paths: readonly string[], wanted: ReadonlySet<string>): Map<string, number> {
  const out = new Map<string, number>();
  for (let i = paths.length - 1; i >= 0 && out.size < wanted.size; i--) {
    const p = paths[i]!;
    if (wanted.has(p) && !out.has(p)) out.set(p, i);
  }
  return out;
}

/**
 * {@link WrittenMatch} of any written layer, entry by entry: each old entry is found in the
 * table's order first ({@link FingerprintTable.lookup}), and the old paths are listed only when
 * some are gone. `undefined` when no delta can be told safely: a whiteout in the layer, a path
 * that became a directory or stopped being one, or an inconsistent stored table.
 */
export function matchEach(written: WrittenEntries, old: FingerprintTable): WrittenMatch | undefined {
  const now: Record<string, string> = Object.create(null);
  /** Index of each path's entry (the last, if a path were written twice). */
  const at = new Map<string, number>();
  const changed: number[] = [];
  const n = written.paths.length;
  // Fingerprints of the entries so far are read only to fold a hard link's target in: without
  // links none is kept, and a plain entry is compared in place (no string built per entry).
  const links = written.linkTargets.some((l) => l !== undefined);
  const find = old.lookup();
  const seen = new Uint8Array(old.count);
  let marked = 0;
  try {
    for (let i = 0; i < n; i++) {
      const path = layerPath(written.paths[i]!);
      if (isWhiteout(path)) return undefined;
      const type = written.types[i]!;
      const digest = written.digests[i]!;
      const link = written.linkTargets[i];
      const before = find(path);
      if (before >= 0 && seen[before] === 0) {
        seen[before] = 1;
        marked++;
      }
      let same: boolean;
      if (link === undefined) {
        same = before >= 0 && old.isFingerprint(before, type, digest);
        if (links) now[path] = entryFingerprint(type, digest, undefined, now);
      } else {
        const fp = entryFingerprint(type, digest, layerPath(link), now);
        now[path] = fp;
        same = before >= 0 && old.fingerprintAt(before) === fp;
      }
      at.set(path, i);
      if (!same) {
        if (before >= 0 && old.isDirectory(before) !== (type === "5")) return undefined;
        changed.push(i);
      }
    }
    return { changed, removed: unmarkedPaths(old, seen, marked), indexOf: (p) => at.get(p) };
  } catch {
    // an inconsistent stored table: the caller makes a new snapshot
    return undefined;
  }
}
