import { type Descriptor, type ImageConfig, type Manifest, MediaType, sha256 } from "@molt/oci";
import type { ImageState } from "../stage/image-state.js";

/** The bytes and descriptors of a finished image. */
export interface AssembledImage {
  config: ImageConfig;
  configBytes: Buffer;
  configDescriptor: Descriptor;
  manifest: Manifest;
  manifestBytes: Buffer;
  manifestDescriptor: Descriptor;
}

const TO_OCI: Record<string, string> = {
  [MediaType.DockerLayerGzip]: MediaType.OciLayerGzip,
  [MediaType.DockerForeignLayerGzip]: "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
};
const TO_DOCKER: Record<string, string> = {
  [MediaType.OciLayerGzip]: MediaType.DockerLayerGzip,
};

/** The layer media type in the image's manifest format (the bytes are the same either way). */
export function layerMediaType(mediaType: string, format: ImageState["format"]): string {
  return (format === "oci" ? TO_OCI[mediaType] : TO_DOCKER[mediaType]) ?? mediaType;
}

/**
 * Turns a stage's final state into config and manifest bytes: diff_ids from the layers, the
 * manifest in the format the base image used (OCI for scratch).
 */
export function assembleImage(
  state: ImageState,
  created: string,
  annotations?: Record<string, string>,
): AssembledImage {
  const config: ImageConfig = {
    ...structuredClone(state.config),
    created,
    rootfs: { type: "layers", diff_ids: state.layers.map((l) => l.diffId) },
  };
  const configBytes = Buffer.from(JSON.stringify(config));
  const oci = state.format === "oci";
  const configDescriptor: Descriptor = {
    mediaType: oci ? MediaType.OciConfig : MediaType.DockerConfig,
    digest: sha256(configBytes),
    size: configBytes.length,
  };
  const manifest: Manifest = {
    schemaVersion: 2,
    mediaType: oci ? MediaType.OciManifest : MediaType.DockerManifest,
    config: configDescriptor,
    layers: state.layers.map((l) => ({
      mediaType: layerMediaType(l.descriptor.mediaType, state.format),
      digest: l.descriptor.digest,
      size: l.descriptor.size,
    })),
    ...(annotations && Object.keys(annotations).length > 0 ? { annotations: { ...annotations } } : {}),
  };
  const manifestBytes = Buffer.from(JSON.stringify(manifest));
  return {
    config,
    configBytes,
    configDescriptor,
    manifest,
    manifestBytes,
    manifestDescriptor: {
      mediaType: manifest.mediaType!,
      digest: sha256(manifestBytes),
      size: manifestBytes.length,
    },
  };
}
