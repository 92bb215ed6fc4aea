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

/** Extractions running now, by blob store and layer digest (see {@link extractionOf}). */
const extracting = new WeakMap<object, Map<string, Promise<unknown>>>();

/**
 * The extraction of the layer `digest` into some stage's root that is running now in the build
 * whose blob store is `store`, if any: a reader of the same layer that can wait (the layer index
 * of a COPY onto the same base) waits for it instead of decompressing and parsing the layer on
 * the same event loop at the same time, which delays the extraction a RUN waits for (issue 16:
 * a multistage build's COPY --from indexes the base while the first stage extracts it).
 */
export function extractionOf(store: object, digest: string): Promise<unknown> | undefined {
  return extracting.get(store)?.get(digest);
}

/** Marks `layers` as being extracted in the build of `store` until the returned function is called. */
function markExtracting(store: object, layers: readonly LayerRef[]): () => void {
  const running = extracting.get(store) ?? new Map<string, Promise<unknown>>();
  extracting.set(store, running);
  let done!: () => void;
  const settled = new Promise<void>((resolve) => {
    done = resolve;
  });
  const mine = layers.map((l) => l.descriptor.digest).filter((d) => !running.has(d));
  for (const d of mine) running.set(d, settled);
  return () => {
    for (const d of mine) if (running.get(d) === settled) running.delete(d);
    done();
  };
}

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
  // Marked before the first await, so that an index of these layers asked meanwhile waits.
  const unmark = markExtracting(from.store, layers);
  try {
    await mkdir(options.shared ? dir : root, { recursive: true });
  } catch (e) {
    unmark();
    throw e;
  }
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
  } finally {
    unmark();
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
