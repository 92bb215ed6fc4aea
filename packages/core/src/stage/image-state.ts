import type { Descriptor, Digest, ImageConfig, Reference } from "@molt/oci";

/** Where a layer's bytes can be read from when the image is written out. */
export type LayerOrigin = { kind: "registry"; reference: Reference } | { kind: "store" };

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
}

/** A deep copy, so that a stage based on another never changes it. */
export function cloneState(s: ImageState): ImageState {
  return { config: structuredClone(s.config), layers: [...s.layers], format: s.format };
}
