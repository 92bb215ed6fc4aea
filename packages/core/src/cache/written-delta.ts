import type { WrittenEntries } from "@molt/layer-writer";
import {
  type DeltaResult,
  deltaShape,
  entryFingerprint,
  isWhiteout,
  type LayerFingerprints,
  layerPath,
} from "./layer-delta.js";

const END = Buffer.alloc(1024);

/**
 * {@link layerDelta} for a layer this process has just written, from the writer's own per-entry
 * digests ({@link WrittenEntries}, the same sha256 of each entry's tar bytes that parsing the layer
 * would give): the changed entries are found without decompressing, parsing or hashing the layer,
 * and only their bytes (and those of the directories above them) are cut from the decompressed
 * stream, which `open` gives and is not read at all when nothing changed. The result is the same
 * delta, byte for byte, as {@link layerDelta} makes from the layer itself.
 */
export async function layerDeltaFromWritten(
  written: WrittenEntries,
  old: LayerFingerprints,
  open: () => Promise<{ bytes: AsyncIterable<Uint8Array>; destroy(): void }>,
): Promise<DeltaResult | undefined> {
  const oldEntries = old.entries;
  const now: Record<string, string> = Object.create(null);
  /** Index of each path's entry (the last, if a path were written twice). */
  const at = new Map<string, number>();
  const changed: number[] = [];
  const n = written.paths.length;
  // Fingerprints of the entries so far are read only to fold a hard link's target in: without
  // links none is kept, and a plain entry is compared in place (no string built per entry).
  const links = written.linkTargets.some((l) => l !== undefined);
  for (let i = 0; i < n; i++) {
    const path = layerPath(written.paths[i]!);
    if (isWhiteout(path)) return undefined;
    const type = written.types[i]!;
    const digest = written.digests[i]!;
    const link = written.linkTargets[i];
    const before = oldEntries[path];
    let same: boolean;
    if (link === undefined) {
      same = before !== undefined && isFingerprint(before, type, digest);
      if (links) now[path] = entryFingerprint(type, digest, undefined, now);
    } else {
      const fp = entryFingerprint(type, digest, layerPath(link), now);
      now[path] = fp;
      same = before === fp;
    }
    at.set(path, i);
    if (!same) {
      if (before !== undefined && (before[0] === "5") !== (type === "5")) return undefined;
      changed.push(i);
    }
  }
  const shape = deltaShape(
    old,
    (p) => at.has(p),
    changed.map((i) => layerPath(written.paths[i]!)),
    (p) => written.types[at.get(p) ?? -1] === "5",
  );
  if (!shape) return undefined;
  const order = [...shape.dirs.map((d) => at.get(d)!), ...changed];
  const pieces = await cut(written.offsets, order, open);
  return {
    tar: Buffer.concat([...order.map((i) => pieces.get(i)!), ...shape.whiteouts, END]),
    changed: changed.length,
    removed: shape.removed,
    entries: n,
  };
}

/** Whether `fp` is the fingerprint `entryFingerprint` gives an entry of `type` (no link) with `digest`. */
const isFingerprint = (fp: string, type: string, digest: string) =>
  fp.length === type.length + digest.length && fp.startsWith(type) && fp.startsWith(digest, type.length);

/** The bytes of entries `wanted` (indices into `offsets`), cut from one pass over the stream. */
async function cut(
  offsets: readonly number[],
  wanted: readonly number[],
  open: () => Promise<{ bytes: AsyncIterable<Uint8Array>; destroy(): void }>,
): Promise<Map<number, Buffer>> {
  const out = new Map<number, Buffer>();
  if (wanted.length === 0) return out;
  const ranges = [...new Set(wanted)].sort((a, b) => offsets[a]! - offsets[b]!);
  const opened = await open();
  try {
    let pos = 0;
    let r = 0;
    let parts: Buffer[] = [];
    for await (const chunk of opened.bytes) {
      const c = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk);
      const end = pos + c.length;
      while (r < ranges.length) {
        const i = ranges[r]!;
        const from = offsets[i]!;
        const to = offsets[i + 1]!;
        if (from >= end) break;
        parts.push(Buffer.from(c.subarray(Math.max(0, from - pos), Math.min(c.length, to - pos))));
        if (to > end) break;
        out.set(i, parts.length === 1 ? parts[0]! : Buffer.concat(parts));
        parts = [];
        r++;
      }
      pos = end;
      if (r === ranges.length) break;
    }
    if (r < ranges.length) throw new Error("layer ended before its written entries");
  } finally {
    opened.destroy();
  }
  return out;
}
