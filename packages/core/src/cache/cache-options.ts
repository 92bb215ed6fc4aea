import { InvalidBuildOptionsError } from "../errors.js";
import type { LayerCache } from "./layer-cache.js";

/** kaniko's default `--cache-ttl`: two weeks. */
export const DEFAULT_CACHE_TTL_MS = 14 * 24 * 3600 * 1000;

/** Default size limit of a directory cache store: 20 GiB. */
export const DEFAULT_CACHE_MAX_BYTES = 20 * 1024 ** 3;

/** A layer cache kept in a registry repository (one manifest per entry, tagged by key). */
export interface RegistryCacheStore {
  type: "registry";
  /** The repository, e.g. `registry.example/app/cache` (kaniko's `--cache-repo`). */
  repo: string;
}

/** A layer cache kept in a local directory, an OCI image layout (kaniko's `--cache-dir`). */
export interface DirectoryCacheStore {
  type: "directory";
  /** The directory. The first directory store also serves base images pre-warmed into it. */
  path: string;
  /** Pruned (oldest entries first) to at most this many bytes of layers; default 20 GiB. */
  maxBytes?: number;
  /**
   * Keep extracted stage roots here too (`<path>/molt-snapshots/`, `--cache-snapshots`; default
   * true), so a rebuild starts a stage's first RUN from the last build's files and writes only
   * what changed (see `SnapshotStore`). Used as root in the `molt` command's private mount
   * namespace, where overlayfs can be mounted; elsewhere the layers are extracted as before.
   */
  snapshots?: boolean;
  /** The snapshots keep at most this many bytes of files, least recently used go first (`--cache-snapshot-max-bytes`); default 10 GiB. */
  snapshotMaxBytes?: number;
}

/**
 * One place the layer cache is kept: a registry repository, a local directory, or a store of
 * your own (anything implementing {@link LayerCache}, e.g. an S3 bucket).
 */
export type CacheStore = RegistryCacheStore | DirectoryCacheStore | LayerCache;

/**
 * The layer cache of a build (`BuildOptions.cache`), shaped like BuildKit's cache imports and
 * exports: a list of stores, consulted in order and all written, and what to cache.
 *
 * @example
 * ```ts
 * await build({
 *   context: ".",
 *   destinations: ["reg.example/app:1"],
 *   cache: {
 *     stores: [{ type: "directory", path: "/var/cache/molt" }, { type: "registry", repo: "reg.example/app/cache" }],
 *     ttlMs: 7 * 24 * 3600 * 1000,
 *     layers: { copy: false },
 *   },
 * });
 * ```
 */
export interface CacheOptions {
  /** Where entries are looked up (in this order, the first hit wins) and written (to all). */
  stores: readonly CacheStore[];
  /** Entries older than this are misses, in ms; default two weeks. */
  ttlMs?: number;
  /** Which steps are cached: RUN results and COPY/ADD results (by content); both default true. */
  layers?: { run?: boolean; copy?: boolean };
  /** Write entries (and layer indexes) to the stores (default true); `false` only reads them. */
  push?: boolean;
  /**
   * Run the steps again instead of taking hits, still writing entries: `true` for every step,
   * or the stages (names or indexes) whose steps are rebuilt. Default none.
   */
  rebuild?: boolean | readonly string[];
  /**
   * Hash context sources with the modes the step gives them (`--chmod` wins; otherwise group and
   * other write bits masked), so checkouts made with different umasks share entries. The key
   * then no longer sees a g+w/o+w change of a source file. Default false.
   */
  normalizeModes?: boolean;
}

/** The cache options with every default applied (what the build's modules read). */
export interface ResolvedCacheOptions {
  /** The stores in order, as given. */
  stores: readonly CacheStore[];
  /** The registry repositories among them, in order. */
  repos: string[];
  /** The directory stores among them, in order. */
  dirs: DirectoryCacheStore[];
  ttlMs: number;
  readOnly: boolean;
  noCache: boolean;
  noCacheStages: Set<string>;
  runLayers: boolean;
  copyLayers: boolean;
  normalizeModes: boolean;
}

/** Whether a store is one of molt's described ones (registry, directory) rather than your own. */
export function isStoreSpec(s: CacheStore): s is RegistryCacheStore | DirectoryCacheStore {
  const type = (s as { type?: unknown }).type;
  return type === "registry" || type === "directory";
}

/** `BuildOptions.cache` with its defaults; throws {@link InvalidBuildOptionsError} on a malformed store. */
export function resolveCacheOptions(cache: CacheOptions | undefined): ResolvedCacheOptions {
  const stores = cache?.stores ?? [];
  for (const s of stores) {
    if (isStoreSpec(s)) {
      const where = s.type === "registry" ? s.repo : s.path;
      if (typeof where !== "string" || where === "")
        throw new InvalidBuildOptionsError(
          `cache store of type ${s.type} needs a ${s.type === "registry" ? "repo" : "path"}`,
        );
    } else if (typeof (s as LayerCache).get !== "function" || typeof (s as LayerCache).put !== "function") {
      throw new InvalidBuildOptionsError(
        'a cache store is { type: "registry", repo }, { type: "directory", path } or a LayerCache (get, nearest, put)',
      );
    }
  }
  const rebuild = cache?.rebuild ?? false;
  return {
    stores,
    repos: stores.flatMap((s) => (isStoreSpec(s) && s.type === "registry" ? [s.repo] : [])),
    dirs: stores.flatMap((s) => (isStoreSpec(s) && s.type === "directory" ? [s] : [])),
    ttlMs: cache?.ttlMs ?? DEFAULT_CACHE_TTL_MS,
    readOnly: cache?.push === false,
    noCache: rebuild === true,
    noCacheStages: new Set((Array.isArray(rebuild) ? rebuild : []).map((s) => s.toLowerCase())),
    runLayers: cache?.layers?.run ?? true,
    copyLayers: cache?.layers?.copy ?? true,
    normalizeModes: cache?.normalizeModes ?? false,
  };
}
