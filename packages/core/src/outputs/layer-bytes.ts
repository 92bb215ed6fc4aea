import type { Readable } from "node:stream";
import type { BlobStore } from "@molt/layer-writer";
import type { RegistryClient, RegistryProgressHandler } from "@molt/registry-client";
import type { LayerRef } from "../stage/image-state.js";

/** Where outputs read layer bytes from. */
export interface LayerBytes {
  client: RegistryClient;
  store: BlobStore;
  signal?: AbortSignal;
  /** Byte progress of layers streamed from a registry. */
  onProgress?: RegistryProgressHandler | undefined;
}

/** Opens a layer's bytes: from the local blob store, or streamed from its registry. */
export async function openLayer(layer: LayerRef, from: LayerBytes): Promise<Readable> {
  if (layer.origin.kind === "store") return from.store.openRead(layer.descriptor.digest);
  if (layer.origin.kind === "source") return layer.origin.source.open(layer.descriptor.digest);
  return from.client.fetchBlob(layer.origin.reference, layer.descriptor, {
    ...(from.signal ? { signal: from.signal } : {}),
    ...(from.onProgress ? { onProgress: from.onProgress } : {}),
  });
}
