import type { CacheListing, LayerCache } from "./layer-cache.js";

/** What {@link pruneCache} removed (or, where the store cannot delete, would remove). */
export interface CachePruneResult {
  removed: CacheListing[];
  /** Entries the store refused to delete (a registry without deletes): reported, kept. */
  refused: CacheListing[];
  kept: CacheListing[];
}

/**
 * Prunes any {@link LayerCache} that can list and delete: entries older than `olderThanMs`, then
 * the oldest until the kept entries' layers add up to at most `keepBytes`. A registry that does
 * not allow deletes keeps its entries and they are reported in `refused` (what would go).
 */
export async function pruneCache(
  cache: LayerCache,
  options: { olderThanMs?: number; keepBytes?: number; now?: number; signal?: AbortSignal } = {},
): Promise<CachePruneResult> {
  if (!cache.list || !cache.delete) throw new TypeError(`${cache.description} cannot list or delete entries`);
  const now = options.now ?? Date.now();
  const all: CacheListing[] = [];
  for await (const e of cache.list(options.signal ? { signal: options.signal } : {})) all.push(e);
  all.sort((a, b) => Date.parse(a.created) - Date.parse(b.created));
  const go: CacheListing[] = [];
  let kept = all.filter((e) => {
    const old = options.olderThanMs !== undefined && now - Date.parse(e.created) > options.olderThanMs;
    if (old) go.push(e);
    return !old;
  });
  if (options.keepBytes !== undefined) {
    let total = kept.reduce((n, e) => n + e.size, 0);
    while (kept.length > 0 && total > options.keepBytes) {
      const e = kept.shift()!;
      total -= e.size;
      go.push(e);
    }
  }
  const removed: CacheListing[] = [];
  const refused: CacheListing[] = [];
  for (const e of go) {
    const ok = await cache.delete(e.key, options.signal ? { signal: options.signal } : {});
    (ok ? removed : refused).push(e);
  }
  kept = [...kept, ...refused];
  return { removed, refused, kept };
}
