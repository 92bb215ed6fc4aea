import { type BlobSource, decompressLayer, readBlob } from "./blob-source.js";
import type { ImageConfig } from "./config.js";
import type { Descriptor } from "./descriptor.js";
import { type Digest, Digester, sha256, splitDigest } from "./digest.js";
import { DigestMismatchError, InvalidDocumentError, InvalidReferenceError } from "./errors.js";
import { isIndex, parseManifest } from "./manifest.js";
import { layerCompression } from "./media-types.js";
import { TarFileWriter } from "./tar-file.js";

/** One image to put in an archive: its manifest (read from the blob source) and names. */
export interface ArchiveImage {
  /** Descriptor of a single-platform image manifest (OCI or Docker schema 2). */
  manifest: Descriptor;
  /** Names to load it as, `name:tag` form (e.g. `registry.example/app:1.0`). */
  tags?: string[];
}

/** Progress of an archive output. */
export type ArchiveProgressEvent = {
  type: "molt:oci:archive-blob";
  digest: Digest;
  size: number;
  index: number;
  total: number;
};

/** Options of {@link writeDockerArchive}. */
export interface DockerArchiveOptions {
  /**
   * How layers are stored: `"uncompressed"` (default) as `docker save` does — the layer tar named
   * by its diffID, which every loader accepts; `"compressed"` keeps the stored blobs as they are
   * (smaller, faster, accepted by `docker load` and `podman load`).
   */
  layers?: "uncompressed" | "compressed";
  /** Uncompressed sizes of layers, by compressed digest (e.g. from `writeLayer`), saving a counting pass. */
  uncompressedSizes?: Record<string, number>;
  signal?: AbortSignal;
  /** Receives the archive's progress, blob by blob. */
  onProgress?: (e: ArchiveProgressEvent) => void;
}

function splitTag(ref: string): { name: string; tag: string } {
  if (ref.includes("@")) throw new InvalidReferenceError(ref, "docker-archive tags cannot hold a digest");
  const slash = ref.lastIndexOf("/");
  const colon = ref.lastIndexOf(":");
  if (colon > slash) return { name: ref.slice(0, colon), tag: ref.slice(colon + 1) };
  return { name: ref, tag: "latest" };
}

async function countBytes(stream: NodeJS.ReadableStream): Promise<number> {
  let n = 0;
  for await (const c of stream) n += (c as Buffer).length;
  return n;
}

/**
 * Writes a docker-archive tarball (`docker save` format: `manifest.json`, `repositories`, config
 * and layer blobs under `blobs/sha256/`), loadable by `docker load` and `podman load`, and readable
 * by `skopeo copy docker-archive:FILE`. The file appears atomically; uncompressed layers are
 * checked against the config's diffIDs while they are written.
 *
 * @example
 * ```ts
 * await writeDockerArchive("image.tar", [{ manifest: desc, tags: ["example.com/app:1.0"] }],
 *   { open: (d) => store.openRead(d) });
 * ```
 * @throws {@link InvalidDocumentError} for an index (an archive holds single-platform images),
 * {@link DigestMismatchError} when a layer does not match its diffID.
 */
export async function writeDockerArchive(
  path: string,
  images: ArchiveImage[],
  source: BlobSource,
  options: DockerArchiveOptions = {},
): Promise<void> {
  const mode = options.layers ?? "uncompressed";
  const { signal } = options;
  const out = await TarFileWriter.create(path);
  try {
    await out.addDirectory("blobs");
    await out.addDirectory("blobs/sha256");
    const written = new Set<string>();
    const manifestJson: { Config: string; RepoTags: string[]; Layers: string[] }[] = [];
    const repositories: Record<string, Record<string, string>> = {};
    for (const image of images) {
      signal?.throwIfAborted();
      const mbytes = await readBlob(source, image.manifest.digest);
      const doc = parseManifest(mbytes, image.manifest.mediaType);
      if (isIndex(doc)) {
        throw new InvalidDocumentError(
          "docker-archive image",
          "an index cannot go in a docker archive; pick one platform",
        );
      }
      const cbytes = await readBlob(source, doc.config.digest);
      const config = JSON.parse(cbytes.toString("utf8")) as ImageConfig;
      const diffIds = config.rootfs?.diff_ids ?? [];
      if (diffIds.length !== doc.layers.length) {
        throw new InvalidDocumentError(
          "image",
          `${doc.layers.length} layers but ${diffIds.length} diff_ids in the config`,
        );
      }
      const cfgName = `blobs/sha256/${splitDigest(doc.config.digest).hex}`;
      if (!written.has(cfgName)) {
        const actual = sha256(cbytes);
        if (actual !== doc.config.digest) throw new DigestMismatchError(doc.config.digest, actual, "config");
        await out.addFile(cfgName, cbytes);
        written.add(cfgName);
      }
      const layerNames: string[] = [];
      let i = 0;
      for (const layer of doc.layers) {
        signal?.throwIfAborted();
        const diffId = diffIds[i]!;
        const uncompressed = mode === "uncompressed" || layerCompression(layer.mediaType) === "none";
        const name = `blobs/sha256/${splitDigest(uncompressed ? diffId : layer.digest).hex}`;
        layerNames.push(name);
        i++;
        if (written.has(name)) continue;
        if (!uncompressed) {
          await out.addStream(name, layer.size, await source.open(layer.digest), signal);
        } else {
          const size =
            layerCompression(layer.mediaType) === "none"
              ? layer.size
              : (options.uncompressedSizes?.[layer.digest] ??
                (await countBytes(decompressLayer(layer.mediaType, await source.open(layer.digest)))));
          const hasher = new Digester("sha256");
          const stream = decompressLayer(layer.mediaType, await source.open(layer.digest));
          const hashed = (async function* () {
            for await (const c of stream) {
              hasher.update(c as Buffer);
              yield c as Buffer;
            }
          })();
          try {
            await out.addStream(name, size, hashed, signal);
          } finally {
            stream.destroy();
          }
          const actual = hasher.digest();
          if (actual !== diffId)
            throw new DigestMismatchError(diffId, actual, `layer ${layer.digest} (diffID)`);
        }
        written.add(name);
        options.onProgress?.({
          type: "molt:oci:archive-blob",
          digest: layer.digest,
          size: layer.size,
          index: i - 1,
          total: doc.layers.length,
        });
      }
      const tags = image.tags ?? [];
      manifestJson.push({ Config: cfgName, RepoTags: tags, Layers: layerNames });
      const top = layerNames.at(-1)?.slice("blobs/sha256/".length);
      if (top) {
        for (const t of tags) {
          const { name, tag } = splitTag(t);
          repositories[name] = { ...(repositories[name] ?? {}), [tag]: top };
        }
      }
    }
    await out.addFile("manifest.json", Buffer.from(JSON.stringify(manifestJson)));
    await out.addFile("repositories", Buffer.from(JSON.stringify(repositories)));
    await out.close();
  } catch (e) {
    await out.abort();
    throw e;
  }
}
