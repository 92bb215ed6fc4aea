import type { Digest } from "@molt/oci";
import createDebug from "debug";
import type { BuildProgressEvent } from "../events.js";
import type { CacheClass } from "../instructions/step.js";
import { DirectoryLayerCache } from "./dir-cache.js";
import { explainMiss } from "./explain.js";
import type { KeyInput } from "./key.js";
import type { CacheEntry, CacheHit, LayerCache } from "./layer-cache.js";
import { TieredLayerCache } from "./tiered-cache.js";

const debug = createDebug("molt:cache");

/** The build's cache settings, from the options. */
export interface StepCacheSettings {
  /** Rebuild every step but still write entries (`--no-cache`). */
  noCache: boolean;
  /** Stages (names lower-cased, or indexes) rebuilt without probing (`--no-cache-filter`). */
  noCacheStages: ReadonlySet<string>;
  /** Cache RUN results (`--cache-run-layers`, default true). */
  runLayers: boolean;
  /** Cache COPY/ADD results (`--cache-copy-layers`, default true). */
  copyLayers: boolean;
  signal?: AbortSignal;
  onProgress?: (e: BuildProgressEvent) => void;
}

/** How a step meets the cache. */
export type CacheUse = "off" | "write" | "probe";

/**
 * The build's use of a {@link LayerCache}: whether a step probes, looks up and explains, and
 * writes entries in the background (awaited by {@link StepCache.flush} before the build ends).
 * A failing write is a warning, never a failed build.
 */
export class StepCache {
  readonly #pending: Promise<void>[] = [];

  constructor(
    readonly cache: LayerCache,
    private readonly settings: StepCacheSettings,
  ) {}

  /** Whether a step of class `cls` in stage (`index`, `name`) probes, only writes, or skips the cache. */
  use(cls: CacheClass | undefined, stage: { index: number; name?: string | undefined }): CacheUse {
    if (cls === undefined) return "off";
    if (cls === "run" && !this.settings.runLayers) return "off";
    if (cls === "copy" && !this.settings.copyLayers) return "off";
    const filtered =
      this.settings.noCacheStages.has(String(stage.index)) ||
      (stage.name !== undefined && this.settings.noCacheStages.has(stage.name.toLowerCase()));
    return this.settings.noCache || filtered ? "write" : "probe";
  }

  #warn = (message: string) => this.settings.onProgress?.({ type: "molt:build:warning", message });

  /** The entry for `key`, or undefined (a store failure is a warning and a miss). */
  async lookup(key: Digest): Promise<CacheHit | undefined> {
    try {
      return await this.cache.get(key, this.#opts());
    } catch (e) {
      if (this.settings.signal?.aborted) throw e;
      this.#warn(`cache lookup in ${this.cache.description} failed: ${(e as Error).message}`);
      return undefined;
    }
  }

  /** Why the step missed: its inputs against the nearest entry on the same chain. */
  async explain(slot: Digest, inputs: readonly KeyInput[], keyword: string): Promise<string> {
    try {
      const nearest = await this.cache.nearest(slot, this.#opts());
      return explainMiss(inputs, nearest?.inputs, keyword);
    } catch (e) {
      debug("nearest %s failed: %O", slot, e);
      return "no entry in cache";
    }
  }

  /** Writes an entry in the background. */
  record(entry: CacheEntry, layer: Parameters<LayerCache["put"]>[1]): void {
    const p = this.cache.put(entry, layer, this.#opts()).catch((e: unknown) => {
      if (!this.settings.signal?.aborted)
        this.#warn(
          `writing cache entry for "${entry.step}" to ${this.cache.description} failed: ${(e as Error).message}`,
        );
    });
    this.#pending.push(p);
  }

  /** Waits for every background write. */
  async flush(): Promise<void> {
    await Promise.all(this.#pending);
  }

  /** Prunes local cache directories (oldest entries first) to at most `maxBytes` of layers. */
  async enforceLimits(maxBytes: number): Promise<void> {
    const stores = this.cache instanceof TieredLayerCache ? this.cache.stores : [this.cache];
    for (const s of stores) {
      if (!(s instanceof DirectoryLayerCache)) continue;
      try {
        const report = await s.prune({ keepBytes: maxBytes });
        if (report.removed.length > 0)
          debug(
            "pruned %d entries from %s (kept %d bytes)",
            report.removed.length,
            s.description,
            report.keptBytes,
          );
      } catch (e) {
        this.#warn(`pruning ${s.description} failed: ${(e as Error).message}`);
      }
    }
  }

  #opts() {
    return {
      onWarning: this.#warn,
      ...(this.settings.signal ? { signal: this.settings.signal } : {}),
    };
  }
}
