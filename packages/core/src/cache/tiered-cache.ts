import type { Readable } from "node:stream";
import type { Digest } from "@molt/oci";
import type { CacheCallOptions, CacheEntry, CacheHit, CacheListing, LayerCache } from "./layer-cache.js";

/**
 * Several caches used as one (`--cache-dir` and `--cache-repo` together): a key is looked up in
 * order (the local directory first) and an entry is written to all of them.
 */
export class TieredLayerCache implements LayerCache {
  readonly description: string;

  constructor(readonly stores: readonly LayerCache[]) {
    this.description = stores.map((s) => s.description).join(" + ");
  }

  async get(key: Digest, options?: CacheCallOptions): Promise<CacheHit | undefined> {
    for (const s of this.stores) {
      const hit = await s.get(key, options);
      if (hit) return hit;
    }
    return undefined;
  }

  async nearest(slot: Digest, options?: CacheCallOptions): Promise<CacheEntry | undefined> {
    for (const s of this.stores) {
      const e = await s.nearest(slot, options);
      if (e) return e;
    }
    return undefined;
  }

  async put(
    entry: CacheEntry,
    layer: (() => Promise<Readable>) | undefined,
    options?: CacheCallOptions,
  ): Promise<void> {
    const results = await Promise.allSettled(this.stores.map((s) => s.put(entry, layer, options)));
    const failed = results.find((r) => r.status === "rejected");
    if (failed) throw (failed as PromiseRejectedResult).reason;
  }

  async *list(options?: CacheCallOptions): AsyncIterable<CacheListing> {
    for (const s of this.stores) if (s.list) yield* s.list(options);
  }
}
