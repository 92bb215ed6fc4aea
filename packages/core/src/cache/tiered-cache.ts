import type { Readable } from "node:stream";
import type { Digest } from "@molt/oci";
import type {
  CacheCallOptions,
  CacheEntry,
  CacheHit,
  CacheListing,
  LayerCache,
  SaltOptions,
} from "./layer-cache.js";

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

  /**
   * One salt for all the stores, since one key is written to each: the last store's (the
   * registry, shared the widest) when it has one; else the first salt another store has (a
   * directory's, so its entries stay good), else `propose`, written there first-write-wins. Every
   * other store then adopts the winner (replacing its own). Without `propose`, only reads.
   */
  async salt(options: SaltOptions = {}): Promise<Uint8Array | undefined> {
    const salted = this.stores.filter((s) => s.salt);
    const authority = salted.at(-1);
    if (!authority) return undefined;
    const { propose, replace: _replace, ...call } = options;
    const others = salted.slice(0, -1);
    const own = new Map<LayerCache, Uint8Array | undefined>();
    for (const s of others) own.set(s, await s.salt!(call));
    let salt = await authority.salt!(call);
    if (!salt) {
      const local = [...own.values()].find((x) => x !== undefined) ?? propose;
      if (!local) return undefined;
      salt = (await authority.salt!({ ...call, propose: local })) ?? local;
    }
    for (const s of others) {
      const mine = own.get(s);
      if (mine && Buffer.from(mine).equals(Buffer.from(salt))) continue;
      await s.salt!({ ...call, propose: salt, ...(mine ? { replace: true } : {}) });
    }
    return salt;
  }

  async *list(options?: CacheCallOptions): AsyncIterable<CacheListing> {
    for (const s of this.stores) if (s.list) yield* s.list(options);
  }
}
