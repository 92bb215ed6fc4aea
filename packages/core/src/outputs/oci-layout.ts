import { OciLayout } from "@molt/oci";
import type { AssembledImage } from "../image/assemble.js";
import type { LayerRef } from "../stage/image-state.js";
import { type LayerBytes, openLayer } from "./layer-bytes.js";

/**
 * Writes the image into an OCI image layout directory (created if missing), tagged `tag`.
 * Blobs already present are not rewritten; every blob is verified against its digest, and a layer
 * read from outside the build (a base layer never extracted) against its diff_id.
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
  for (const [i, layer] of layers.entries()) {
    if (await layout.hasBlob(layer.descriptor.digest)) continue;
    await layout.writeBlob(layer.descriptor.digest, await openLayer(layer, from, i), opts);
  }
  await layout.writeBlob(image.configDescriptor.digest, image.configBytes, opts);
  await layout.writeBlob(image.manifestDescriptor.digest, image.manifestBytes, opts);
  await layout.addManifest(image.manifestDescriptor, tag);
}
