import {
  indexLayer,
  type LayerIndex,
  LayerIndexFormatError,
  parseLayerIndex,
  RootIndex,
  serializeLayerIndex,
} from "@molt/snapshotter";
import createDebug from "debug";
import type { StepId } from "../events.js";
import { openLayer } from "../outputs/layer-bytes.js";
import { extractLimits } from "./extract-limits.js";
import type { LayerRef } from "./image-state.js";
import { indexStores, type LayerIndexStore } from "./index-store.js";
import type { BuildSession } from "./session.js";
import { extractionOf } from "./stage-fs.js";

const debug = createDebug("molt:stage");

/**
 * Layers up to this size (compressed) being extracted by another stage are indexed only once
 * that extraction is over (see `extractionOf`): it then takes tens of milliseconds at most.
 */
const WAIT_FOR_EXTRACTION_BYTES = 16 * 1024 * 1024;

/** Files whose bodies an index keeps: what `--chown` and WORKDIR's USER read (`/etc/passwd`, `/etc/group`). */
const keepContent = (path: string, size: number) => size <= 1 << 20 && /(^|\/)(passwd|group)$/.test(path);

/**
 * The layer indexes of one build, each read once per diff_id: from where earlier builds kept it
 * (`--cache-dir`, or `--cache-repo` as a small blob; see `index-store.ts`), else by streaming the layer once
 * (downloaded and decompressed, nothing extracted; the blob is kept in the build's store as it
 * streams, so a later extraction or push does not download it again). An index made from a
 * layer that came from a registry is kept there, so the next build on the same base
 * downloads no base layer to COPY onto it.
 */
export class LayerIndexes {
  readonly #memo = new Map<string, Promise<LayerIndex>>();

  constructor(private readonly session: BuildSession) {}

  /** The index of `layer`; the download, if any, is reported as progress of `step`. */
  get(layer: LayerRef, step: StepId): Promise<LayerIndex> {
    let p = this.#memo.get(layer.diffId);
    if (!p) {
      p = this.#load(layer, step);
      this.#memo.set(layer.diffId, p);
      p.catch(() => this.#memo.delete(layer.diffId));
    }
    return p;
  }

  /** A merged index of `layers` (in order), from the per-layer indexes. */
  async merge(layers: readonly LayerRef[], step: StepId, into = new RootIndex()): Promise<RootIndex> {
    const wanted = layers.slice(into.layers).map((l) => this.get(l, step));
    for (const p of wanted) into.apply(await p);
    return into;
  }

  async #load(layer: LayerRef, step: StepId): Promise<LayerIndex> {
    const { session } = this;
    const signal = session.options.signal;
    // Layers this build wrote are at hand and small; base and cached layers are worth keeping.
    const stores =
      layer.origin.kind === "store" ? [] : (this.#stores ??= indexStores(session.options, session.client));
    for (const store of stores) {
      try {
        const bytes = await store.get(layer.diffId, signal);
        if (!bytes) continue;
        const index = parseLayerIndex(bytes);
        if (index.diffId === layer.diffId) {
          debug("layer index of %s from %s", layer.diffId, store.description);
          return index;
        }
      } catch (e) {
        if (signal?.aborted) throw e;
        if (!(e instanceof LayerIndexFormatError))
          this.#warn(
            `reading the layer index of ${layer.diffId} from ${store.description} failed: ${(e as Error).message}`,
          );
      }
    }
    // A stage extracting this (small) layer now goes first (see extractionOf): its RUN waits for
    // it. A big layer is indexed beside its extraction as before: waiting for that could cost
    // the stage a whole extraction of, say, Debian (a second or more) ahead of a long COPY.
    const extraction =
      layer.descriptor.size <= WAIT_FOR_EXTRACTION_BYTES
        ? extractionOf(session.store, layer.descriptor.digest)
        : undefined;
    if (extraction) {
      await extraction;
      signal?.throwIfAborted();
    }
    const t0 = Date.now();
    const limits = extractLimits(session.options);
    const from = {
      client: session.client,
      store: session.store,
      ...(signal ? { signal } : {}),
      onProgress: session.events.forStep(step),
    };
    const index = await indexLayer(
      {
        // Indexing reads the stream to its end or destroys it: while a stage beside this one is
        // still downloading the layer (to extract it), wait for that and read the kept copy.
        open: () => openLayer(layer, { ...from, waitForOthers: true }),
        digest: layer.descriptor.digest,
        mediaType: layer.descriptor.mediaType,
        diffId: layer.diffId,
      },
      {
        keepContent,
        ...(signal ? { signal } : {}),
        ...(limits?.entries !== undefined ? { maxEntries: limits.entries } : {}),
      },
    );
    debug("indexed %s (%d entries) in %d ms", layer.diffId, index.entries.length, Date.now() - t0);
    if (stores.length > 0) {
      const bytes = serializeLayerIndex(index);
      // Small (about 100 KB for Debian's 7,000 entries); a failure to keep it never fails the build.
      await Promise.all(
        stores.map((store) =>
          store.put(layer.diffId, bytes, signal).catch((e: unknown) => {
            if (!signal?.aborted)
              this.#warn(
                `keeping the layer index of ${layer.diffId} in ${store.description} failed: ${(e as Error).message}`,
              );
          }),
        ),
      );
    }
    return index;
  }

  #stores: LayerIndexStore[] | undefined;

  #warn(message: string): void {
    this.session.events.emit({ type: "molt:build:warning", message });
  }
}

const perSession = new WeakMap<BuildSession, LayerIndexes>();

/** The {@link LayerIndexes} of a build (one per session). */
export function layerIndexes(session: BuildSession): LayerIndexes {
  let x = perSession.get(session);
  if (!x) {
    x = new LayerIndexes(session);
    perSession.set(session, x);
  }
  return x;
}
