import { parseReference } from "@molt/oci";
import type { Registry } from "@molt/registry-client";
import type { BuildOptions } from "../options.js";
import { DirectoryLayerCache } from "./dir-cache.js";
import type { LayerCache } from "./layer-cache.js";
import { RegistryLayerCache } from "./registry-cache.js";
import { buildSalt } from "./salt.js";
import { StepCache } from "./step-cache.js";
import { TieredLayerCache } from "./tiered-cache.js";

/** kaniko's default `--cache-ttl`: two weeks. */
export const DEFAULT_CACHE_TTL_MS = 14 * 24 * 3600 * 1000;

/** Default `--cache-max-bytes` of a local cache directory: 20 GiB. */
export const DEFAULT_CACHE_MAX_BYTES = 20 * 1024 ** 3;

/**
 * The build's cache from its options: your own `cache`, then `cacheDir`, then `cacheRepo`,
 * consulted in that order and all written; `undefined` when none is given.
 */
export async function openBuildCache(
  options: BuildOptions,
  client: Registry,
  open: { dryRun?: boolean } = {},
): Promise<StepCache | undefined> {
  const ttlMs = options.cacheTtlMs ?? DEFAULT_CACHE_TTL_MS;
  const readOnly = options.noPushCache ?? false;
  const stores: LayerCache[] = [];
  if (options.cache) stores.push(options.cache);
  if (options.cacheDir) {
    const maxBytes = options.cacheMaxBytes ?? DEFAULT_CACHE_MAX_BYTES;
    stores.push(await DirectoryLayerCache.open(options.cacheDir, { ttlMs, readOnly, maxBytes }));
  }
  if (options.cacheRepo)
    stores.push(new RegistryLayerCache(client, parseReference(options.cacheRepo), { ttlMs, readOnly }));
  if (stores.length === 0) return undefined;
  const cache = stores.length === 1 ? stores[0]! : new TieredLayerCache(stores);
  const onWarning = (message: string) => options.onProgress?.({ type: "molt:build:warning", message });
  const salt = await buildSalt(cache, {
    readOnly: readOnly || (open.dryRun ?? false),
    onWarning,
    ...(options.signal ? { signal: options.signal } : {}),
  });
  return new StepCache(cache, {
    salt,
    noCache: options.noCache ?? false,
    noCacheStages: new Set((options.noCacheFilter ?? []).map((s) => s.toLowerCase())),
    runLayers: options.cacheRunLayers ?? true,
    copyLayers: options.cacheCopyLayers ?? true,
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
  });
}

/** kaniko's default cache repository for a destination: `<destination repo>/cache`. */
export function defaultCacheRepo(destination: string): string {
  const ref = parseReference(destination);
  return `${ref.registry}/${ref.repository}/cache`;
}
