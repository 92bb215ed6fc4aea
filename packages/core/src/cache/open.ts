import { parseReference } from "@molt/oci";
import type { Registry } from "@molt/registry-client";
import type { BuildOptions } from "../options.js";
import { DEFAULT_CACHE_MAX_BYTES, isStoreSpec, resolveCacheOptions } from "./cache-options.js";
import { DirectoryLayerCache } from "./dir-cache.js";
import type { LayerCache } from "./layer-cache.js";
import { RegistryLayerCache } from "./registry-cache.js";
import { buildSalt } from "./salt.js";
import { StepCache } from "./step-cache.js";
import { TieredLayerCache } from "./tiered-cache.js";

/**
 * The build's cache from its options: `cache.stores`, consulted in their order and all
 * written; `undefined` when there is none.
 */
export async function openBuildCache(
  options: BuildOptions,
  client: Registry,
  open: { dryRun?: boolean } = {},
): Promise<StepCache | undefined> {
  const c = resolveCacheOptions(options.cache);
  const { ttlMs, readOnly } = c;
  const stores: LayerCache[] = [];
  for (const s of c.stores) {
    if (!isStoreSpec(s)) stores.push(s);
    else if (s.type === "directory") {
      const maxBytes = s.maxBytes ?? DEFAULT_CACHE_MAX_BYTES;
      stores.push(await DirectoryLayerCache.open(s.path, { ttlMs, readOnly, maxBytes }));
    } else {
      const repo = parseReference(s.repo);
      const verifyHits = outputsReadBytes(options, repo.registry);
      stores.push(new RegistryLayerCache(client, repo, { ttlMs, readOnly, verifyHits }));
    }
  }
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
    noCache: c.noCache,
    noCacheStages: c.noCacheStages,
    runLayers: c.runLayers,
    copyLayers: c.copyLayers,
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
  });
}

/**
 * Whether the build's outputs read the layers' bytes (so checking a cached layer first costs no
 * more than the output does): an OCI layout, a tarball, or a push to another registry than the
 * cache's (a push to the same registry mounts the blob and reads nothing).
 */
function outputsReadBytes(options: BuildOptions, cacheRegistry: string): boolean {
  if (options.ociLayoutPath || options.tarPath) return true;
  if (options.noPush) return false;
  return (options.destinations ?? []).some((d) => {
    try {
      return parseReference(d).registry !== cacheRegistry;
    } catch {
      return false;
    }
  });
}

/** kaniko's default cache repository for a destination: `<destination repo>/cache`. */
export function defaultCacheRepo(destination: string): string {
  const ref = parseReference(destination);
  return `${ref.registry}/${ref.repository}/cache`;
}
