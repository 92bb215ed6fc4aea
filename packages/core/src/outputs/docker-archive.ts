import { type ArchiveProgressEvent, type Reference, writeDockerArchive } from "@molt/oci";
import type { AssembledImage } from "../image/assemble.js";
import type { LayerRef } from "../stage/image-state.js";
import { imageBlobSource } from "./image-blobs.js";
import type { LayerBytes } from "./layer-bytes.js";

/**
 * Writes a `docker load`-able tarball (`--tar-path`), tagged with the destinations (kaniko
 * does the same), or `molt-image:latest` when there are none. `onArchive` hears of each layer
 * as it lands in the tarball.
 */
export async function writeTarball(
  path: string,
  image: AssembledImage,
  layers: readonly LayerRef[],
  destinations: readonly Reference[],
  from: LayerBytes,
  /** Receives a `molt:oci:archive-blob` per layer written into the tarball. */
  onArchive?: (e: ArchiveProgressEvent) => void,
): Promise<void> {
  const tags =
    destinations.length > 0
      ? destinations.map((r) => `${r.registry}/${r.repository}:${r.tag ?? "latest"}`)
      : ["molt-image:latest"];
  await writeDockerArchive(
    path,
    [{ manifest: image.manifestDescriptor, tags }],
    imageBlobSource(image, layers, from),
    {
      ...(from.signal ? { signal: from.signal } : {}),
      ...(onArchive ? { onProgress: onArchive } : {}),
    },
  );
}
