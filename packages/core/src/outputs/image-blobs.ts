import { Readable } from "node:stream";
import { BlobReadError, type BlobSource, type Digest } from "@molt/oci";
import type { AssembledImage } from "../image/assemble.js";
import type { LayerRef } from "../stage/image-state.js";
import { type LayerBytes, openLayer } from "./layer-bytes.js";

/** A {@link BlobSource} over one built image: its manifest, config and layers wherever they live. */
export function imageBlobSource(
  image: AssembledImage,
  layers: readonly LayerRef[],
  from: LayerBytes,
): BlobSource {
  const byDigest = new Map<string, LayerRef>(layers.map((l) => [l.descriptor.digest, l]));
  return {
    async open(digest: Digest): Promise<Readable> {
      if (digest === image.manifestDescriptor.digest) return Readable.from([image.manifestBytes]);
      if (digest === image.configDescriptor.digest) return Readable.from([image.configBytes]);
      const layer = byDigest.get(digest);
      if (!layer) throw new BlobReadError(digest);
      return openLayer(layer, from);
    },
  };
}
