import type { Baseline } from "./baseline.js";
import type { ExtractOptions, LayerSource } from "./extract.js";

/**
 * How a stage's root filesystem is materialised from image layers: writes the layers, in
 * order, into `root` (whiteouts applied, paths kept inside the root) and returns the exact
 * {@link Baseline} of what `root` then holds (updating `options.baseline` when given). molt's
 * own is {@link extract}; `BuildOptions.extractor` stands in another, most often a wrapper
 * around `extract` that records, meters or checks what goes in. It must honour `options` (the
 * signal, `limits` against layer bombs, the `baseline` to extend) as `extract` does: the
 * snapshotter compares the root against the baseline it returns.
 *
 * @example
 * ```ts
 * import { build, extract, type Extractor } from "molt";
 * const seen: string[] = [];
 * const extractor: Extractor = async (layers, root, options) => {
 *   const all = [];
 *   for await (const l of layers) { seen.push(l.digest ?? "?"); all.push(l); }
 *   return extract(all, root, options);
 * };
 * await build({ context: ".", noPush: true, ociLayoutPath: "out", extractor });
 * ```
 */
export type Extractor = (
  layers: Iterable<LayerSource> | AsyncIterable<LayerSource>,
  root: string,
  options: ExtractOptions,
) => Promise<Baseline>;
