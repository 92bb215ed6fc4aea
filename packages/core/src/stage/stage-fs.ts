import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import {
  createSnapshotter,
  type ExtractLimits,
  type Extractor,
  type ExtractProgressEvent,
  extract,
  prepareSnapshotter,
  type Snapshotter,
  type SnapshotterFactory,
} from "@molt/snapshotter";
import createDebug from "debug";
import { type LayerBytes, openLayer } from "../outputs/layer-bytes.js";
import type { LayerRef } from "./image-state.js";
import type { SharedRoots } from "./shared-roots.js";

const debug = createDebug("molt:stage");

/** A stage's materialised root filesystem and the snapshotter that watches it. */
export interface StageFs {
  readonly root: string;
  readonly snapshotter: Snapshotter;
  /** Applies a layer molt wrote (e.g. COPY's) to the root, keeping the baseline exact. */
  apply(layer: LayerRef): Promise<void>;
  close(): Promise<void>;
}

/** How {@link materialise} prepares a root and its snapshotter. */
export interface MaterialiseOptions {
  mode?: "auto" | "walk" | "overlay";
  /** Makes the snapshotter (default {@link createSnapshotter}): `BuildOptions.snapshotter`. */
  factory?: SnapshotterFactory | undefined;
  /** Writes the layers into the root (default {@link extract}): `BuildOptions.extractor`. */
  extractor?: Extractor | undefined;
  ignore?: string[];
  limits?: ExtractLimits | undefined;
  /** Progress of extracting the layers (not of later `apply` calls). */
  onProgress?: ((e: ExtractProgressEvent) => void) | undefined;
  /** Stages materialising the same layers at the same time extract them once (see {@link SharedRoots}). */
  shared?: SharedRoots | undefined;
}

/**
 * Materialises a stage's root: extracts (with `options.extractor`, default molt's) every layer the image has so far (base layers streamed
 * from their registry, ours from the blob store) into `dir/root`, recording the baseline while
 * extracting, then starts a snapshotter on it (overlay where mounting works, walk otherwise).
 * Only stages that RUN something pay for this.
 */
export async function materialise(
  dir: string,
  layers: readonly LayerRef[],
  from: LayerBytes,
  options: MaterialiseOptions = {},
): Promise<StageFs> {
  const root = join(dir, "root");
  await mkdir(options.shared ? dir : root, { recursive: true });
  const signalOpt = from.signal ? { signal: from.signal } : {};
  const source = (layer: LayerRef) => ({
    // Extraction reads each layer to its end: a stage on the same base as one extracting now waits for its download.
    open: () => openLayer(layer, { ...from, waitForOthers: true }),
    digest: layer.descriptor.digest,
    mediaType: layer.descriptor.mediaType,
    diffId: layer.diffId,
  });
  const t0 = Date.now();
  const limitsOpt = options.limits ? { limits: options.limits } : {};
  const extractor = options.extractor ?? extract;
  const extractInto = (to: string) =>
    extractor(layers.map(source), to, {
      ...signalOpt,
      ...limitsOpt,
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    });
  const snapshotOptions = {
    workDir: join(dir, "snapshot"),
    mode: options.mode ?? "auto",
    ...(options.ignore ? { ignore: options.ignore } : {}),
  };
  // molt's own snapshotter starts its helper shell and overlay check beside the extraction
  // (they do not read the root), so the first RUN does not wait for them after it (issue 16).
  const prepared = options.factory ? undefined : prepareSnapshotter(root, snapshotOptions);
  let baseline: Awaited<ReturnType<typeof extractInto>>;
  try {
    baseline =
      options.shared && layers.length > 0
        ? await options.shared.materialise(
            layers.map((l) => `${l.descriptor.digest} ${l.diffId}`).join(","),
            root,
            extractInto,
            from.signal,
          )
        : await extractInto(root);
  } catch (e) {
    await prepared?.discard();
    throw e;
  }
  debug("materialised %d layers into %s in %d ms", layers.length, root, Date.now() - t0);
  const snapshotter = prepared
    ? await createSnapshotter(root, { ...snapshotOptions, baseline, prepared })
    : await options.factory!(root, { ...snapshotOptions, baseline });
  debug("snapshotter mode: %s", snapshotter.mode);
  return {
    root,
    snapshotter,
    async apply(layer) {
      await extractor([source(layer)], root, { ...signalOpt, baseline: snapshotter.baseline });
    },
    close: () => snapshotter.close(),
  };
}
