import { type Digest, DigestMismatchError, formatReference, parseReference, type Reference } from "@molt/oci";
import type { RegistryClient } from "@molt/registry-client";
import type { AssembledImage } from "../image/assemble.js";
import type { LayerRef } from "../stage/image-state.js";
import { type LayerBytes, openLayer } from "./layer-bytes.js";

/**
 * Pushes the image to one destination: every layer (skipped when present, mounted from the base
 * image's repository when it lives on the same registry), then the config, then — last, so a
 * failure never leaves a half-pushed image under the tag — the manifest.
 */
export async function pushImage(
  client: RegistryClient,
  destination: string,
  image: AssembledImage,
  layers: readonly LayerRef[],
  from: LayerBytes,
): Promise<{ reference: Reference; digest: Digest }> {
  const reference = parseReference(destination);
  const signalOpt = from.signal ? { signal: from.signal } : {};
  // All layers at once: the client bounds transfers per registry.
  await Promise.all(
    layers.map((layer) => {
      const mountFrom =
        layer.origin.kind === "registry" && layer.origin.reference.registry === reference.registry
          ? layer.origin.reference
          : undefined;
      return client.pushBlob(reference, layer.descriptor, () => openLayer(layer, from), {
        ...signalOpt,
        ...(mountFrom ? { mountFrom } : {}),
      });
    }),
  );
  await client.pushBlob(reference, image.configDescriptor, () => image.configBytes, signalOpt);
  const digest = await client.putManifest(
    reference,
    image.manifestBytes,
    image.manifestDescriptor.mediaType,
    signalOpt,
  );
  if (digest !== image.manifestDescriptor.digest) {
    throw new DigestMismatchError(
      image.manifestDescriptor.digest,
      digest,
      `manifest pushed to ${formatReference(reference)}`,
    );
  }
  return { reference, digest };
}
