/**
 * `build()`: turns a Dockerfile and a build context into an OCI image, pushed to registries
 * and/or written to an OCI layout.
 *
 * @packageDocumentation
 */

export type { GitContextOptions } from "@molt/context-source";
export type { ManifestHead, PushBlobOptions, Registry } from "@molt/registry-client";
export {
  type Baseline,
  createSnapshotter,
  DiffIdMismatchError,
  type ExtractOptions,
  type Extractor,
  extract,
  type LayerSource,
  type Snapshotter,
  type SnapshotterFactory,
  type SnapshotterOptions,
  type Step as SnapshotStep,
  UnsafePathError,
} from "@molt/snapshotter";
export {
  type BuildResult,
  build,
  buildStage,
  type DryRunResult,
  dryRun,
  type StageBuildContext,
} from "./build.js";
export {
  type CacheOptions,
  type CacheStore,
  DEFAULT_CACHE_MAX_BYTES,
  DEFAULT_CACHE_TTL_MS,
  type DirectoryCacheStore,
  type RegistryCacheStore,
} from "./cache/cache-options.js";
export { DirectoryLayerCache, type DirectoryLayerCacheOptions, type PruneReport } from "./cache/dir-cache.js";
export { explainMiss } from "./cache/explain.js";
export { hiddenInput, type KeyInput, KeySalt, shownInput, stepKey } from "./cache/key.js";
export type {
  CacheCallOptions,
  CacheEntry,
  CacheHit,
  CacheListing,
  LayerCache,
  SaltOptions,
} from "./cache/layer-cache.js";
export { defaultCacheRepo } from "./cache/open.js";
export { type CachePruneResult, pruneCache } from "./cache/prune.js";
export { RegistryLayerCache, type RegistryLayerCacheOptions } from "./cache/registry-cache.js";
export { TieredLayerCache } from "./cache/tiered-cache.js";
export { CORE_ERROR_CODES, type CoreErrorCode } from "./error-codes.js";
export * from "./errors.js";
export * from "./events.js";
export * from "./mounts/index.js";
export type { BuildOptions, BuildOutput } from "./options.js";
export type { RegistriesSettings, RegistrySettings, RegistryTransportSettings } from "./registry/settings.js";
export type { RetrySettings, TimeoutSettings } from "./registry/transport-settings.js";
export * from "./runner/index.js";
export type { LayerOrigin } from "./stage/image-state.js";
export type { StepReport } from "./stage/run-stage.js";
