import { openDecompressed } from "@molt/snapshotter";
import createDebug from "debug";
import { type DeltaResult, layerDelta } from "../cache/layer-delta.js";
import type { SnapshotMeta } from "../cache/snapshot-store.js";
import { layerDeltaFromWritten } from "../cache/written-delta.js";
import { type LayerBytes, openLayer } from "../outputs/layer-bytes.js";
import type { LayerRef } from "./image-state.js";
import { takeWritten } from "./written-layers.js";

// The planning of `snapshot-root.ts`: which layers a held snapshot lacks, or the delta that
// replaces its last one.

const debug = createDebug("molt:stage");

/** How the held snapshot is brought to this stage's layers. */
export type Plan =
  | { kind: "exact"; rest: readonly LayerRef[] }
  | { kind: "delta"; delta: Buffer; rest: readonly LayerRef[]; changed: number; removed: number };

/** The diff_ids of `layers`, in order. */
export const diffIds = (layers: readonly LayerRef[]) => layers.map((l) => l.diffId as string);
const samePrefix = (a: readonly string[], b: readonly string[], n: number) => {
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return false;
  return true;
};

/** How a held snapshot becomes this stage's root, or undefined when it cannot. */
export async function planFor(
  meta: SnapshotMeta,
  layers: readonly LayerRef[],
  ids: readonly string[],
  from: LayerBytes,
): Promise<Plan | undefined> {
  const n = meta.layers.length;
  if (n === 0 || n > ids.length) return undefined;
  if (samePrefix(meta.layers, ids, n)) return { kind: "exact", rest: layers.slice(n) };
  if (!meta.last || !samePrefix(meta.layers, ids, n - 1)) return undefined;
  const layer = layers[n - 1]!;
  // Only a layer this build wrote itself: bytes from elsewhere are verified by extracting them.
  if (layer.origin.kind !== "store") return undefined;
  const open = async () => openDecompressed(await openLayer(layer, from), false);
  // The step that wrote the layer (a COPY) handed its entries' digests over: no parse, no hashing.
  const written = takeWritten(layer);
  let delta: DeltaResult | undefined;
  if (written) delta = await layerDeltaFromWritten(written, meta.last, open);
  else {
    const opened = await open();
    try {
      delta = await layerDelta(opened.bytes, meta.last);
    } finally {
      opened.destroy();
    }
  }
  debug("snapshot delta planned from %s", written ? "the writer's entry digests" : "the layer's bytes");
  if (!delta) return undefined;
  // Most of the layer changed: a new snapshot serves the next build better.
  if (delta.changed > delta.entries / 2) return undefined;
  return {
    kind: "delta",
    delta: delta.tar,
    rest: layers.slice(n),
    changed: delta.changed,
    removed: delta.removed,
  };
}
