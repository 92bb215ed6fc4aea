import { randomBytes } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { mkdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { type Readable, Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { type BlobSource, reachableBlobs } from "./blob-source.js";
import type { Descriptor } from "./descriptor.js";
import { type Digest, Digester, splitDigest } from "./digest.js";
import type { ArchiveImage } from "./docker-archive.js";
import { DigestMismatchError } from "./errors.js";
import type { ImageIndex } from "./manifest.js";
import { MediaType } from "./media-types.js";

/** The annotation that names a manifest in an OCI layout's `index.json`. */
export const REF_NAME_ANNOTATION = "org.opencontainers.image.ref.name";

/**
 * An OCI image layout directory (`oci-layout`, `index.json`, `blobs/<alg>/<hex>`), as read by
 * `skopeo copy oci:DIR:tag` and `umoci`.
 *
 * @example
 * ```ts
 * const layout = await OciLayout.open("out/oci");
 * await layout.writeBlob(configDigest, configBytes);
 * await layout.addManifest(manifestDescriptor, "latest");
 * ```
 */
export class OciLayout {
  private constructor(readonly dir: string) {}

  /** Opens (creating if needed) the layout at `dir`. */
  static async open(dir: string): Promise<OciLayout> {
    await mkdir(join(dir, "blobs", "sha256"), { recursive: true });
    const marker = join(dir, "oci-layout");
    try {
      await stat(marker);
    } catch {
      await writeFile(marker, JSON.stringify({ imageLayoutVersion: "1.0.0" }));
    }
    const layout = new OciLayout(dir);
    try {
      await stat(join(dir, "index.json"));
    } catch {
      await layout.#writeIndex({ schemaVersion: 2, mediaType: MediaType.OciIndex, manifests: [] });
    }
    return layout;
  }

  /** The path of a blob inside the layout. */
  blobPath(digest: Digest): string {
    const { algorithm, hex } = splitDigest(digest);
    return join(this.dir, "blobs", algorithm, hex);
  }

  /** True when the layout already holds the blob. */
  async hasBlob(digest: Digest): Promise<boolean> {
    try {
      await stat(this.blobPath(digest));
      return true;
    } catch {
      return false;
    }
  }

  /**
   * Writes a blob atomically (temp file + rename), verifying its digest; an existing blob is
   * left untouched unless `replace` is set (its bytes are known to be wrong).
   * @throws {@link DigestMismatchError} when the content does not match `digest`.
   */
  async writeBlob(
    digest: Digest,
    content: Uint8Array | Readable,
    options: { signal?: AbortSignal; replace?: boolean } = {},
  ): Promise<void> {
    if (!options.replace && (await this.hasBlob(digest))) return;
    const { algorithm } = splitDigest(digest);
    await mkdir(join(this.dir, "blobs", algorithm), { recursive: true });
    const final = this.blobPath(digest);
    const tmp = `${final}.${randomBytes(6).toString("hex")}.tmp`;
    const hasher = new Digester(algorithm === "sha512" ? "sha512" : "sha256");
    try {
      if (content instanceof Uint8Array) {
        hasher.update(content);
        await writeFile(tmp, content, { signal: options.signal });
      } else {
        await pipeline(
          content,
          async function* (source: AsyncIterable<Buffer>) {
            for await (const chunk of source) {
              hasher.update(chunk);
              yield chunk;
            }
          },
          createWriteStream(tmp),
          { signal: options.signal },
        );
      }
      const actual = hasher.digest();
      if (actual !== digest) throw new DigestMismatchError(digest, actual, "blob");
      await rename(tmp, final);
    } finally {
      await rm(tmp, { force: true });
    }
  }

  /**
   * A verified stream of a blob: it ends with a {@link DigestMismatchError} instead of finishing
   * when the bytes do not hash to `digest`. Makes the layout a {@link BlobSource}.
   */
  open(digest: Digest): Readable {
    const { algorithm } = splitDigest(digest);
    const hasher = new Digester(algorithm === "sha512" ? "sha512" : "sha256");
    const path = this.blobPath(digest);
    const verify = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        hasher.update(chunk);
        cb(null, chunk);
      },
      flush(cb) {
        const actual = hasher.digest();
        cb(actual === digest ? null : new DigestMismatchError(digest, actual, `layout blob ${path}`));
      },
    });
    const src = createReadStream(path);
    src.on("error", (e) => verify.destroy(e));
    return src.pipe(verify);
  }

  /**
   * Copies an image (manifest or index, and every blob it reaches) from `source` into the layout,
   * skipping blobs already present, then lists it in `index.json` under each tag (or untagged).
   * Several images and tags can be appended to one layout.
   *
   * @example
   * ```ts
   * const layout = await OciLayout.open("out/oci");
   * await layout.appendImage(manifestDescriptor, { open: (d) => store.openRead(d) }, { tags: ["latest", "1.0"] });
   * ```
   */
  async appendImage(
    root: Descriptor,
    source: BlobSource,
    options: { tags?: string[]; signal?: AbortSignal } = {},
  ): Promise<void> {
    for (const d of await reachableBlobs(source, root)) {
      options.signal?.throwIfAborted();
      if (await this.hasBlob(d.digest)) continue;
      await this.writeBlob(d.digest, await source.open(d.digest), { signal: options.signal });
    }
    const tags = options.tags ?? [];
    if (tags.length === 0) await this.addManifest(root);
    for (const t of tags) await this.addManifest(root, t);
  }

  /** Reads `index.json`. */
  async readIndex(): Promise<ImageIndex> {
    return JSON.parse(await readFile(join(this.dir, "index.json"), "utf8")) as ImageIndex;
  }

  /**
   * Adds a manifest descriptor to `index.json`, tagged `tag` when given. An earlier entry with the
   * same tag loses the tag (it is replaced), as `skopeo copy` does.
   */
  async addManifest(descriptor: Descriptor, tag?: string): Promise<void> {
    const index = await this.readIndex();
    const entry: Descriptor = { ...descriptor };
    if (tag) entry.annotations = { ...(entry.annotations ?? {}), [REF_NAME_ANNOTATION]: tag };
    index.manifests = index.manifests.filter(
      (m) =>
        !(tag && m.annotations?.[REF_NAME_ANNOTATION] === tag) &&
        !(!tag && m.digest === descriptor.digest && !m.annotations?.[REF_NAME_ANNOTATION]),
    );
    index.manifests.push(entry);
    await this.#writeIndex(index);
  }

  async #writeIndex(index: ImageIndex): Promise<void> {
    const path = join(this.dir, "index.json");
    const tmp = `${path}.${randomBytes(6).toString("hex")}.tmp`;
    await writeFile(tmp, JSON.stringify(index));
    await rename(tmp, path);
  }
}

/**
 * Writes images into the OCI layout directory `dir` (created if needed, existing content kept):
 * the `--oci-layout-path` output.
 */
export async function writeOciLayout(
  dir: string,
  images: ArchiveImage[],
  source: BlobSource,
  options: { signal?: AbortSignal } = {},
): Promise<OciLayout> {
  const layout = await OciLayout.open(dir);
  for (const img of images) {
    const opts: { tags?: string[]; signal?: AbortSignal } = {};
    if (img.tags) opts.tags = img.tags;
    if (options.signal) opts.signal = options.signal;
    await layout.appendImage(img.manifest, source, opts);
  }
  return layout;
}
