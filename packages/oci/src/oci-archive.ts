import { type BlobSource, reachableBlobs } from "./blob-source.js";
import type { Descriptor } from "./descriptor.js";
import { splitDigest } from "./digest.js";
import type { ArchiveImage, ArchiveProgressEvent } from "./docker-archive.js";
import { REF_NAME_ANNOTATION } from "./layout.js";
import type { ImageIndex } from "./manifest.js";
import { MediaType } from "./media-types.js";
import { TarFileWriter } from "./tar-file.js";

/** The `index.json` of a layout holding `images`, each tag as an `org.opencontainers.image.ref.name` entry. */
export function layoutIndex(images: ArchiveImage[]): ImageIndex {
  const manifests: Descriptor[] = [];
  for (const img of images) {
    const { annotations: _a, ...base } = img.manifest;
    if (!img.tags || img.tags.length === 0) manifests.push({ ...img.manifest });
    for (const tag of img.tags ?? []) {
      manifests.push({
        ...base,
        annotations: { ...(img.manifest.annotations ?? {}), [REF_NAME_ANNOTATION]: tag },
      });
    }
  }
  return { schemaVersion: 2, mediaType: MediaType.OciIndex, manifests };
}

/**
 * Writes an OCI archive: a tar of an OCI image layout (`oci-layout`, `index.json`,
 * `blobs/sha256/…`) holding every blob the images reach (child manifests of an index too).
 * Readable by `skopeo copy oci-archive:FILE:tag` and `podman load`. Tags are short names
 * (`latest`, `1.0`), as in a layout's `org.opencontainers.image.ref.name`.
 *
 * @example
 * ```ts
 * await writeOciArchive("image.oci.tar", [{ manifest: desc, tags: ["latest"] }], { open: (d) => store.openRead(d) });
 * ```
 */
export async function writeOciArchive(
  path: string,
  images: ArchiveImage[],
  source: BlobSource,
  options: { signal?: AbortSignal; onProgress?: (e: ArchiveProgressEvent) => void } = {},
): Promise<void> {
  const out = await TarFileWriter.create(path);
  try {
    await out.addFile("oci-layout", Buffer.from(JSON.stringify({ imageLayoutVersion: "1.0.0" })));
    await out.addDirectory("blobs");
    await out.addDirectory("blobs/sha256");
    const seen = new Set<string>();
    const blobs: Descriptor[] = [];
    for (const img of images) {
      for (const d of await reachableBlobs(source, img.manifest)) {
        if (!seen.has(d.digest)) {
          seen.add(d.digest);
          blobs.push(d);
        }
      }
    }
    let index = 0;
    for (const d of blobs) {
      options.signal?.throwIfAborted();
      const { algorithm, hex } = splitDigest(d.digest);
      if (algorithm !== "sha256") await out.addDirectory(`blobs/${algorithm}`);
      await out.addStream(`blobs/${algorithm}/${hex}`, d.size, await source.open(d.digest), options.signal);
      options.onProgress?.({
        type: "molt:oci:archive-blob",
        digest: d.digest,
        size: d.size,
        index: index++,
        total: blobs.length,
      });
    }
    await out.addFile("index.json", Buffer.from(JSON.stringify(layoutIndex(images))));
    await out.close();
  } catch (e) {
    await out.abort();
    throw e;
  }
}
