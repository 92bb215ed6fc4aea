import { OciLayout } from "@molt/oci";
import type { AssembledImage } from "../image/assemble.js";
import type { LayerRef } from "../stage/image-state.js";
import { type LayerBytes, openLayer } from "./layer-bytes.js";

/**
 * Writes the image into an OCI image layout directory (created if missing), tagged `tag`.
 * Blobs already present are not rewritten; every blob is verified against its digest.
 */
export async function writeToOciLayout(
  dir: string,
  image: AssembledImage,
  layers: readonly LayerRef[],
  tag: string | undefined,
  from: LayerBytes,
): Promise<void> {
  const layout = await OciLayout.open(dir);
  const opts = from.signal ? { signal: from.signal } : {};
  for (const layer of layers) {
    if (await layout.hasBlob(layer.descriptor.digest)) continue;
    await layout.writeBlob(layer.descriptor.digest, await openLayer(layer, from), opts);
  }
  await layout.writeBlob(image.configDescriptor.digest, image.configBytes, opts);
  await layout.writeBlob(image.manifestDescriptor.digest, image.manifestBytes, opts);
  await layout.addManifest(image.manifestDescriptor, tag);
}
