import type { Digest } from "@molt/oci";
import createDebug from "debug";
import type { BuildProgressEvent } from "../events.js";
import type { CacheClass } from "../instructions/step.js";
import { DirectoryLayerCache } from "./dir-cache.js";
import { explainMiss } from "./explain.js";
import type { KeyInput, KeySalt } from "./key.js";
import type { CacheEntry, CacheHit, LayerCache } from "./layer-cache.js";
import { TieredLayerCache } from "./tiered-cache.js";

const debug = createDebug("molt:cache");

/** How many cache probes run at once. */
export const PROBES_IN_FLIGHT = 8;

/** Runs at most `n` of the functions given to it at once, in the order given. */
function limiter(n: number): <T>(fn: () => Promise<T>) => Promise<T> {
  let running = 0;
  const queue: (() => void)[] = [];
  return (fn) =>
    new Promise((resolve, reject) => {
      const start = () => {
        running++;
        fn()
          .then(resolve, reject)
          .finally(() => {
            running--;
            queue.shift()?.();
          });
      };
      if (running < n) start();
      else queue.push(start);
    });
}

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
  /** The key salt of the build's stores (see `buildSalt`). */
  salt: KeySalt;
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
  /** Lookups started ahead of their steps (see {@link StepCache.prefetch}), by key. */
  readonly #probes = new Map<Digest, Promise<CacheHit | undefined>>();
  readonly #limit = limiter(PROBES_IN_FLIGHT);

  constructor(
    readonly cache: LayerCache,
    private readonly settings: StepCacheSettings,
  ) {}

  /** The key salt every hidden input and expanded instruction of this build is keyed with. */
  get salt(): KeySalt {
    return this.settings.salt;
  }

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

  /**
   * Starts looking up `keys` (a stage's planned keys, known before anything runs), at most
   * {@link PROBES_IN_FLIGHT} at a time across the build; {@link StepCache.lookup} then takes the
   * answer instead of asking again.
   */
  prefetch(keys: readonly Digest[]): void {
    for (const key of keys) {
      if (this.#probes.has(key)) continue;
      const probe = this.#limit(() => this.#lookup(key));
      // A probe nobody takes (the build failed first) must not be an unhandled rejection.
      probe.catch(() => {});
      this.#probes.set(key, probe);
    }
  }

  /** Keys whose entries turned out unusable during this build, with why. */
  readonly #poisoned = new Map<Digest, string>();

  readonly #verified = new Set<string>();
  /** Layer digests whose bytes failed verification in a store that cannot replace them (a registry). */
  readonly #keptBad = new Set<string>();

  /** Records that a store keeps bad bytes under `digest` (a rebuilt layer must not reuse it). */
  markKeptBad(digest: string): void {
    this.#keptBad.add(digest);
  }

  /** Whether a store of this build keeps bad bytes under `digest`. */
  keptBad(digest: string): boolean {
    return this.#keptBad.has(digest);
  }

  /** Whether the layer blob `digest` was checked against its digest in this build. */
  verified(digest: string): boolean {
    return this.#verified.has(digest);
  }

  /** Records that the layer blob `digest` was checked in this build. */
  markVerified(digest: string): void {
    this.#verified.add(digest);
  }

  readonly #present = new Set<string>();

  /** Whether the layer blob `digest` was found present (not read) in this build. */
  present(digest: string): boolean {
    return this.#present.has(digest) || this.#verified.has(digest);
  }

  /** Records that the layer blob `digest` was found present in this build. */
  markPresent(digest: string): void {
    this.#present.add(digest);
  }

  /** Marks `key`'s entry unusable for the rest of the build (its layer failed verification). */
  poison(key: Digest, reason: string): void {
    this.#poisoned.set(key, reason);
  }

  /** Why `key`'s entry was found unusable in this build, if it was. */
  poisoned(key: Digest): string | undefined {
    return this.#poisoned.get(key);
  }

  /** The entry for `key`, or undefined (a store failure is a warning and a miss). */
  lookup(key: Digest): Promise<CacheHit | undefined> {
    if (this.#poisoned.has(key)) return Promise.resolve(undefined);
    const started = this.#probes.get(key);
    if (started) {
      this.#probes.delete(key);
      return started;
    }
    return this.#lookup(key);
  }

  async #lookup(key: Digest): Promise<CacheHit | undefined> {
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
    const replace = this.#poisoned.has(entry.key) ? { replaceLayer: true } : {};
    const p = this.cache.put(entry, layer, { ...this.#opts(), ...replace }).catch((e: unknown) => {
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

  /** Prunes local cache directories (oldest entries first) to at most their `maxBytes` of layers. */
  async enforceLimits(): Promise<void> {
    const stores = this.cache instanceof TieredLayerCache ? this.cache.stores : [this.cache];
    for (const s of stores) {
      if (!(s instanceof DirectoryLayerCache) || s.maxBytes === undefined) continue;
      try {
        const report = await s.prune({ keepBytes: s.maxBytes });
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
