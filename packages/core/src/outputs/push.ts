import { type Digest, DigestMismatchError, formatReference, type Reference } from "@molt/oci";
import type { Registry } from "@molt/registry-client";
import type { AssembledImage } from "../image/assemble.js";
import type { LayerRef } from "../stage/image-state.js";
import type { EarlyPush } from "./early-push.js";
import { type LayerBytes, openLayer } from "./layer-bytes.js";

/**
 * Uploads every blob of the image to one destination: the layers (skipped when present, mounted
 * from the base image's repository when it lives on the same registry) and the config. The
 * transfers run together (the client bounds them per registry); the first failure cancels the
 * others before the error is thrown. A layer whose bytes are streamed from outside the build is
 * checked against its diff_id on the way (the upload fails before it completes when it does not
 * match); a mounted or already present blob is not read, so not checked. A layer `early` began
 * uploading while the build ran is awaited rather than sent again (and sent again if that failed).
 */
export async function pushBlobs(
  client: Registry,
  reference: Reference,
  image: AssembledImage,
  layers: readonly LayerRef[],
  from: LayerBytes,
  early?: EarlyPush,
): Promise<void> {
  const controller = new AbortController();
  const signal = from.signal ? AbortSignal.any([from.signal, controller.signal]) : controller.signal;
  const scoped: LayerBytes = { ...from, signal };
  const push = (layer: LayerRef, i: number) => {
    const mountFrom =
      layer.origin.kind === "registry" && layer.origin.reference.registry === reference.registry
        ? layer.origin.reference
        : undefined;
    return client.pushBlob(reference, layer.descriptor, () => openLayer(layer, scoped, i), {
      signal,
      ...(mountFrom ? { mountFrom } : {}),
      ...(from.onProgress ? { onProgress: from.onProgress } : {}),
      // A layer this build wrote is most likely new there: check for it beside the upload.
      ...(layer.origin.kind === "store" ? { likelyNew: true } : {}),
    });
  };
  const uploads = [
    ...layers.map(async (layer, i) => {
      // Started while the build ran (its events are this step's from here); one that failed is pushed again.
      const started = early?.take(reference, layer.descriptor.digest);
      if (started) {
        started.claim(from.onProgress);
        const ok = await started.result.then(
          () => true,
          () => false,
        );
        if (ok) return;
        signal.throwIfAborted();
      }
      await push(layer, i);
    }),
    client.pushBlob(reference, image.configDescriptor, () => image.configBytes, {
      signal,
      ...(configIsNew(image) ? { skipExistsCheck: true } : {}),
      ...(from.onProgress ? { onProgress: from.onProgress } : {}),
      // A new layer makes a new config; with every layer reused, the config may be there already.
      ...(layers.some((l) => l.origin.kind === "store") ? { likelyNew: true } : {}),
    }),
  ];
  try {
    await Promise.all(uploads);
  } catch (e) {
    controller.abort(e);
    await Promise.allSettled(uploads);
    throw e;
  }
}

/**
 * Whether the image's config was made just now (its `created` is this build's time), so no
 * registry can hold it yet: its upload then skips the HEAD that asks (one round trip less on the
 * way to the manifest). A reproducible build's config (a fixed `created`) may well be there
 * already, so it is asked for first.
 */
export function configIsNew(image: AssembledImage, now = Date.now()): boolean {
  const created = image.config.created ? Date.parse(image.config.created) : Number.NaN;
  return !Number.isNaN(created) && Math.abs(now - created) < 10 * 60 * 1000;
}

/** Puts the manifest under the destination's tag: the last step of a push. */
export async function putImageManifest(
  client: Registry,
  reference: Reference,
  image: AssembledImage,
  signal?: AbortSignal,
): Promise<Digest> {
  const digest = await client.putManifest(
    reference,
    image.manifestBytes,
    image.manifestDescriptor.mediaType,
    signal ? { signal } : {},
  );
  if (digest !== image.manifestDescriptor.digest) {
    throw new DigestMismatchError(
      image.manifestDescriptor.digest,
      digest,
      `manifest pushed to ${formatReference(reference)}`,
    );
  }
  return digest;
}
