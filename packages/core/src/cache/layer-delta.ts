import { createHash } from "node:crypto";
import { type FingerprintTable, unmarkedPaths } from "./fingerprint-table.js";
import { BLOCK, layerPath, type RawEntry, rawEntries } from "./layer-entries.js";

export { layerPath };

/**
 * What a snapshot remembers of the last layer extracted into it: per path, the digest of that
 * entry's exact tar bytes (headers, PAX records and body), and the paths the layer laid over
 * something the layers below already had.
 */
export interface LayerFingerprints {
  /** Layer path (no leading `./` or `/`, no trailing `/`) → tar type flag + sha256 hex of the entry's tar bytes. */
  entries: Record<string, string>;
  /** Paths of this layer that already existed below it (a removal of those cannot be a whiteout). */
  shadowed: string[];
}

/** A layer's fingerprints ({@link LayerFingerprints}), `has` telling which paths the layers below hold. */
export async function fingerprintLayer(
  tar: AsyncIterable<Uint8Array>,
  has: (path: string) => boolean,
): Promise<LayerFingerprints | undefined> {
  const entries: Record<string, string> = Object.create(null);
  const shadowed: string[] = [];
  try {
    for await (const e of rawEntries(tar)) {
      if (isWhiteout(e.path)) return undefined;
      // A hard link's bytes name its target only: its fingerprint follows the target's content.
      entries[e.path] = fingerprint(e, entries);
      if (has(e.path)) shadowed.push(e.path);
    }
  } catch {
    return undefined;
  }
  return { entries, shadowed };
}

/** A delta tar ({@link layerDelta}) and what it holds. */
export interface DeltaResult {
  /** Uncompressed tar: the changed and new entries' exact bytes, the directories above them, whiteouts. */
  tar: Buffer;
  /** Entries written (changed or new). */
  changed: number;
  /** Paths of the old layer gone from the new one. */
  removed: number;
  /** Entries of the new layer. */
  entries: number;
}

/**
 * The change from the layer a snapshot holds (`old`) to a new layer over the same layers below:
 * an uncompressed tar with exactly the new layer's bytes for every entry that differs or is new
 * (and the directories above each, so their times end as a whole extraction leaves them), plus a
 * whiteout for every path that is gone. Extracting it onto the snapshot gives the tree that
 * extracting the new layer in place of the old would give. `undefined` when that cannot be told
 * safely (whiteouts or global headers in the layer, a path that changed type, a removed path
 * that lies over the layers below): the caller then extracts the layer whole.
 */
export async function layerDelta(
  tar: AsyncIterable<Uint8Array>,
  old: FingerprintTable,
): Promise<DeltaResult | undefined> {
  const now: Record<string, string> = Object.create(null);
  const dirs = new Map<string, Buffer[]>();
  const changed: RawEntry[] = [];
  const find = old.lookup();
  const seen = new Uint8Array(old.count);
  let marked = 0;
  let count = 0;
  let removed: string[];
  try {
    for await (const e of rawEntries(tar)) {
      count++;
      if (isWhiteout(e.path)) return undefined;
      const fp = fingerprint(e, now);
      now[e.path] = fp;
      if (e.type === "5") dirs.set(e.path, e.bytes);
      const before = find(e.path);
      if (before >= 0 && seen[before] === 0) {
        seen[before] = 1;
        marked++;
      }
      if (before < 0 || old.fingerprintAt(before) !== fp) {
        // A directory that became something else, or the other way round: extract whole.
        if (before >= 0 && old.isDirectory(before) !== (e.type === "5")) return undefined;
        changed.push(e);
      }
    }
    removed = unmarkedPaths(old, seen, marked);
  } catch {
    return undefined;
  }
  const shape = deltaShape(
    removed,
    old.shadowed,
    changed.map((e) => e.path),
    (p) => dirs.has(p),
  );
  if (!shape) return undefined;
  const out: Buffer[] = [];
  for (const d of shape.dirs) out.push(...dirs.get(d)!);
  for (const e of changed) out.push(...e.bytes);
  out.push(...shape.whiteouts, Buffer.alloc(BLOCK * 2));
  return { tar: Buffer.concat(out), changed: changed.length, removed: shape.removed, entries: count };
}

/** Where a delta's entries come from, once the layer's changed entries are known. */
export interface DeltaShape {
  /** Directories of the new layer above a change and not changed themselves: their bytes go first, in this order. */
  dirs: string[];
  /** Whiteouts of the topmost removed paths: after the changed entries. */
  whiteouts: Buffer[];
  /** How many paths of the old layer the new one no longer has. */
  removed: number;
}

/**
 * The rest of a delta from the old layer's paths the new one no longer has (`removed`), the old
 * layer's `shadowed` paths ({@link LayerFingerprints.shadowed}) and the new layer's changed
 * paths (in layer order): which directories above them are rewritten first, which paths are
 * whited out. `isDir` tells the new layer's directories. `undefined` when a removed path lies
 * over the layers below or a whiteout name does not fit a ustar header.
 * @internal
 */
export function deltaShape(
  removed: string[],
  oldShadowed: readonly string[],
  changed: readonly string[],
  isDir: (path: string) => boolean,
): DeltaShape | undefined {
  const shadowed = new Set(oldShadowed);
  for (const p of removed) {
    for (const s of shadowed) if (s === p || s.startsWith(`${p}/`)) return undefined;
  }
  // Directories above every change, parents first, then the changed entries in layer order.
  const above = new Set<string>();
  const touch = (p: string) => {
    for (let i = p.lastIndexOf("/"); i > 0; i = p.lastIndexOf("/", i - 1)) above.add(p.slice(0, i));
    if (p !== "") above.add("");
  };
  for (const p of changed) touch(p);
  for (const p of removed) touch(p);
  const changedPaths = new Set(changed);
  const dirs: string[] = [];
  for (const d of [...above].sort((a, b) => depth(a) - depth(b) || (a < b ? -1 : 1))) {
    if (changedPaths.has(d)) continue;
    if (isDir(d)) dirs.push(d);
  }
  // Whiteouts for the topmost removed paths (a removed directory takes what is below it).
  const whiteouts: Buffer[] = [];
  const gone = new Set(removed);
  for (const p of removed.sort()) {
    const parent = p.slice(0, Math.max(0, p.lastIndexOf("/")));
    if (parent !== "" && gone.has(parent)) continue;
    const name = p.slice(p.lastIndexOf("/") + 1);
    const wh = parent === "" ? `.wh.${name}` : `${parent}/.wh.${name}`;
    const header = whiteoutHeader(wh);
    if (!header) return undefined;
    whiteouts.push(header);
  }
  return { dirs, whiteouts, removed: removed.length };
}

/**
 * An entry's fingerprint: its type flag, then the digest of its bytes (for a hard link, folded
 * with its target's fingerprint, since its bytes name the target only).
 */
function fingerprint(e: RawEntry, known: Record<string, string>): string {
  return entryFingerprint(e.type, e.digest, e.linkPath, known);
}

/**
 * An entry's fingerprint from its type flag, the sha256 (hex) of its bytes and, for a hard link,
 * its target's path (`known` holding the fingerprints of the entries before it).
 * @internal
 */
export function entryFingerprint(
  type: string,
  digest: string,
  linkPath: string | undefined,
  known: Record<string, string>,
): string {
  if (linkPath === undefined) return `${type}${digest}`;
  const folded = createHash("sha256")
    .update(`${digest}\0${known[linkPath] ?? ""}`)
    .digest("hex");
  return `${type}${folded}`;
}

const depth = (p: string) => (p === "" ? 0 : p.split("/").length);

/** Whether a layer path names a whiteout (`.wh.` base name). @internal */
export function isWhiteout(p: string): boolean {
  return p.startsWith(".wh.", p.lastIndexOf("/") + 1);
}

/** A ustar header of an empty regular file named `name` (a whiteout), or undefined when the name does not fit. */
function whiteoutHeader(name: string): Buffer | undefined {
  const h = Buffer.alloc(BLOCK);
  let prefix = "";
  let base = name;
  if (Buffer.byteLength(name) > 100) {
    const cut = name.lastIndexOf("/", 155);
    if (cut < 0) return undefined;
    prefix = name.slice(0, cut);
    base = name.slice(cut + 1);
    if (Buffer.byteLength(base) > 100 || Buffer.byteLength(prefix) > 155) return undefined;
  }
  h.write(base, 0, 100, "utf8");
  h.write("0000644\0", 100, "ascii");
  h.write("0000000\0", 108, "ascii");
  h.write("0000000\0", 116, "ascii");
  h.write("00000000000\0", 124, "ascii");
  h.write("00000000000\0", 136, "ascii");
  h.write("        ", 148, "ascii");
  h.write("0", 156, "ascii");
  h.write("ustar\0", 257, "ascii");
  h.write("00", 263, "ascii");
  if (prefix) h.write(prefix, 345, 155, "utf8");
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148, "ascii");
  return h;
}
