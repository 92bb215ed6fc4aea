import type { WrittenEntries } from "@molt/layer-writer";
import type { LayerRef } from "./image-state.js";

/**
 * Per-entry digests of layers this build has just written ({@link WrittenEntries}), handed from
 * the step that wrote one (a COPY before a RUN) to the snapshot store's delta of the RUN's root
 * (`snapshot-root.ts`), so that delta need not decompress, parse and hash the layer again. Each is
 * taken once; a stage keeps at most its latest (an older layer is never the one a delta replaces).
 */
const written = new WeakMap<LayerRef, WrittenEntries>();

/** Hands `entries` over with `layer`. */
export function handOverWritten(layer: LayerRef, entries: WrittenEntries): void {
  written.set(layer, entries);
}

/** Drops what was handed over with `layer`, if not taken yet. */
export function dropWritten(layer: LayerRef | undefined): void {
  if (layer) written.delete(layer);
}

/** What was handed over with `layer`, taken (a second call gets undefined). */
export function takeWritten(layer: LayerRef): WrittenEntries | undefined {
  const e = written.get(layer);
  written.delete(layer);
  return e;
}
