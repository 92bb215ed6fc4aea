import type { WrittenEntries } from "@molt/layer-writer";
import type { FingerprintTable } from "./fingerprint-table.js";
import { type DeltaResult, deltaShape, layerPath } from "./layer-delta.js";
import { matchEach, matchInOrder } from "./written-match.js";

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
  old: FingerprintTable,
  open: () => Promise<{ bytes: AsyncIterable<Uint8Array>; destroy(): void }>,
): Promise<DeltaResult | undefined> {
  const match = matchInOrder(written, old) ?? matchEach(written, old);
  if (!match) return undefined;
  const { changed, indexOf } = match;
  const shape = deltaShape(
    match.removed,
    old.shadowed,
    changed.map((i) => layerPath(written.paths[i]!)),
    (p) => written.types[indexOf(p) ?? -1] === "5",
  );
  if (!shape) return undefined;
  const order = [...shape.dirs.map((d) => indexOf(d)!), ...changed];
  const pieces = await cut(written.offsets, order, open);
  return {
    tar: Buffer.concat([...order.map((i) => pieces.get(i)!), ...shape.whiteouts, END]),
    changed: changed.length,
    removed: shape.removed,
    entries: written.paths.length,
  };
}

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
