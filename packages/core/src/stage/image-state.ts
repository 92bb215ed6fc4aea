import type { BlobSource, Descriptor, Digest, ImageConfig, Reference } from "@molt/oci";

/**
 * Where a layer's bytes can be read from when the image is written out: a registry repository
 * (a base image's, or the cache repository's: pushes to the same registry mount it), the build's
 * blob store, or another blob source (a local cache directory).
 */
export type LayerOrigin =
  | { kind: "registry"; reference: Reference }
  | { kind: "store" }
  | { kind: "source"; source: BlobSource; description: string };

/** One layer of the image being built. */
export interface LayerRef {
  descriptor: Descriptor;
  diffId: Digest;
  origin: LayerOrigin;
}

/** The image a stage is building: config, layers and the manifest format it follows. */
export interface ImageState {
  config: ImageConfig;
  layers: LayerRef[];
  /** `oci` or `docker`: the manifest format, following the base image as docker does. */
  format: "oci" | "docker";
  /**
   * The cache key of the last step applied: starts as the base image's manifest digest (a
   * constant for scratch, the base stage's final key for `FROM <stage>`), then each step's
   * chained key.
   */
  chainKey: Digest;
  /** Where on the Dockerfile's chain the last step sits (content-independent), for explaining misses. */
  chainSlot: Digest;
  /** How the chain started, for messages: `base <reference>`, `scratch` or `stage <n>`. */
  chainBase: string;
}

/** A deep copy, so that a stage based on another never changes it. */
export function cloneState(s: ImageState): ImageState {
  return {
    config: structuredClone(s.config),
    layers: [...s.layers],
    format: s.format,
    chainKey: s.chainKey,
    chainSlot: s.chainSlot,
    chainBase: s.chainBase,
  };
}
