import type { Readable } from "node:stream";
import type { BlobStore } from "@molt/layer-writer";
import type { RegistryClient, RegistryProgressHandler } from "@molt/registry-client";
import type { LayerRef } from "../stage/image-state.js";
import { keepWhileReading } from "./keep-blob.js";

/** Where outputs read layer bytes from. */
export interface LayerBytes {
  client: RegistryClient;
  store: BlobStore;
  signal?: AbortSignal;
  /** Byte progress of layers streamed from a registry. */
  onProgress?: RegistryProgressHandler | undefined;
}

/**
 * Opens a layer's bytes: from the local blob store, or streamed from its registry. A registry
 * layer read once in a build is kept in the build's blob store as it streams, so the next reader
 * (another stage on the same base) reads it from disk: each blob is downloaded at most once.
 */
export async function openLayer(layer: LayerRef, from: LayerBytes): Promise<Readable> {
  const digest = layer.descriptor.digest;
  if (layer.origin.kind === "store") return from.store.openRead(digest);
  if (layer.origin.kind === "source") return layer.origin.source.open(digest);
  if (await from.store.has(digest)) return from.store.openRead(digest);
  const body = await from.client.fetchBlob(layer.origin.reference, layer.descriptor, {
    ...(from.signal ? { signal: from.signal } : {}),
    ...(from.onProgress ? { onProgress: from.onProgress } : {}),
  });
  const tee = await keepWhileReading(from.store, digest);
  body.on("error", (e) => tee.destroy(e));
  tee.on("close", () => {
    if (!body.destroyed) body.destroy();
  });
  return body.pipe(tee);
}
