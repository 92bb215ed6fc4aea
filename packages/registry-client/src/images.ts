import { randomBytes } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { mkdir, rename, rm } from "node:fs/promises";
import { dirname } from "node:path";
import { pipeline } from "node:stream/promises";
import {
  type Descriptor,
  type Digest,
  formatReference,
  type ImageIndex,
  isIndex,
  type Manifest,
  OciLayout,
  type Platform,
  parseManifest,
  REF_NAME_ANNOTATION,
  type Reference,
} from "@molt/oci";
import type { RegistryClient, TransferOptions } from "./client.js";
import { RegistryProtocolError } from "./errors.js";
import { selectPlatform } from "./manifests.js";

/** Options of the image copy helpers. */
export interface ImageCopyOptions extends TransferOptions {
  /** Copy only this platform's image from an index (default: the whole index). */
  platform?: Platform;
  /** Blobs moved at once (default 4). */
  concurrency?: number;
}

/** Runs `fn` over `items` with at most `limit` in flight; the first failure stops the rest. */
async function eachLimited<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failed = false;
  const worker = async () => {
    while (!failed && next < items.length) {
      const item = items[next++]!;
      try {
        await fn(item);
      } catch (e) {
        failed = true;
        throw e;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

function uniqueBlobs(m: Manifest): Descriptor[] {
  const seen = new Set<string>();
  return [m.config, ...m.layers].filter((d) => !seen.has(d.digest) && seen.add(d.digest));
}

/**
 * Copies an image between repositories or registries: every blob (mounted when source and
 * destination share a registry, skipped when present), then the manifests, then the index.
 * The bytes of every manifest are kept exactly, so digests do not change. Returns the digest
 * of the top-level manifest written.
 *
 * @example
 * ```ts
 * await copyImage(client, parseReference("127.0.0.1:5000/app:1"), parseReference("registry.example/app:1"));
 * ```
 */
export async function copyImage(
  client: RegistryClient,
  src: Reference,
  dst: Reference,
  options: ImageCopyOptions = {},
): Promise<Digest> {
  const top = await client.getManifest(src, options);
  const doc = parseManifest(top.bytes, top.mediaType);
  const sameRegistry = src.registry === dst.registry;
  const copyManifest = async (bytes: Buffer, mediaType: string, m: Manifest, target: Reference) => {
    await eachLimited(uniqueBlobs(m), options.concurrency ?? 4, async (d) => {
      await client.pushBlob(dst, d, () => client.fetchBlob(src, d, options), {
        ...options,
        ...(sameRegistry ? { mountFrom: src } : {}),
      });
    });
    return client.putManifest(target, bytes, mediaType, options);
  };
  if (!isIndex(doc)) return copyManifest(top.bytes, top.mediaType, doc, dst);
  if (options.platform) {
    const entry = selectPlatform(doc, options.platform, src);
    const child = await client.getManifest({ ...src, digest: entry.digest }, options);
    return copyManifest(child.bytes, child.mediaType, parseManifest(child.bytes) as Manifest, dst);
  }
  for (const entry of (doc as ImageIndex).manifests) {
    const child = await client.getManifest({ ...src, digest: entry.digest }, options);
    const childDoc = parseManifest(child.bytes, child.mediaType);
    if (isIndex(childDoc)) {
      throw new RegistryProtocolError(`copy ${formatReference(src)}: nested indexes are not supported`, {
        registry: src.registry,
        repository: src.repository,
      });
    }
    await copyManifest(child.bytes, child.mediaType, childDoc, {
      registry: dst.registry,
      repository: dst.repository,
      digest: entry.digest,
    });
  }
  return client.putManifest(dst, top.bytes, top.mediaType, options);
}

/**
 * Pushes an image from an OCI image layout directory (as written by `skopeo copy oci:…`,
 * `umoci` or molt) to `dst`: the manifest (or index) named `tag` in `index.json` (its
 * `org.opencontainers.image.ref.name`), or the only one when `tag` is omitted.
 * Blobs stream from their files. Returns the digest of the manifest pushed.
 *
 * @example
 * ```ts
 * await pushOciLayout(client, "out/oci", "latest", parseReference("registry.example/app:1"));
 * ```
 */
export async function pushOciLayout(
  client: RegistryClient,
  dir: string,
  tag: string | undefined,
  dst: Reference,
  options: ImageCopyOptions = {},
): Promise<Digest> {
  const layout = await OciLayout.open(dir);
  const index = await layout.readIndex();
  const candidates =
    tag === undefined
      ? index.manifests
      : index.manifests.filter((d) => d.annotations?.[REF_NAME_ANNOTATION] === tag);
  if (candidates.length !== 1) {
    throw new RegistryProtocolError(
      `OCI layout ${dir} has ${candidates.length === 0 ? "no" : "several"} image${tag ? ` tagged "${tag}"` : "s"}`,
      { registry: dst.registry, repository: dst.repository },
    );
  }
  const readDoc = async (d: Descriptor) => {
    const chunks: Buffer[] = [];
    for await (const c of layout.open(d.digest)) chunks.push(c as Buffer);
    return Buffer.concat(chunks);
  };
  const pushManifest = async (d: Descriptor, target: Reference): Promise<Digest> => {
    const bytes = await readDoc(d);
    const doc = parseManifest(bytes, d.mediaType);
    if (isIndex(doc)) {
      for (const child of doc.manifests) {
        await pushManifest(child, {
          registry: dst.registry,
          repository: dst.repository,
          digest: child.digest,
        });
      }
    } else {
      await eachLimited(uniqueBlobs(doc), options.concurrency ?? 4, async (b) => {
        await client.pushBlob(
          dst,
          b,
          () => createReadStream(layout.blobPath(b.digest), { highWaterMark: 1024 * 1024 }),
          options,
        );
      });
    }
    return client.putManifest(target, bytes, doc.mediaType ?? d.mediaType, options);
  };
  return pushManifest(candidates[0]!, dst);
}

/**
 * Pulls an image into an OCI image layout directory: every blob (digest-verified while
 * streaming to disk), the manifest(s) with their exact bytes, and an `index.json` entry named
 * `tag`. With `platform`, only that platform's image is pulled from an index.
 * Returns the descriptor added to `index.json`.
 */
export async function pullOciLayout(
  client: RegistryClient,
  src: Reference,
  dir: string,
  tag: string | undefined,
  options: ImageCopyOptions = {},
): Promise<Descriptor> {
  const layout = await OciLayout.open(dir);
  const save = async (digest: Digest, open: () => Promise<NodeJS.ReadableStream>) => {
    if (await layout.hasBlob(digest)) return;
    const final = layout.blobPath(digest);
    await mkdir(dirname(final), { recursive: true });
    const tmp = `${final}.${randomBytes(6).toString("hex")}.tmp`;
    try {
      await pipeline(await open(), createWriteStream(tmp), options.signal ? { signal: options.signal } : {});
      await rename(tmp, final);
    } finally {
      await rm(tmp, { force: true });
    }
  };
  const pullManifest = async (bytes: Buffer, mediaType: string, digest: Digest) => {
    const doc = parseManifest(bytes, mediaType);
    if (isIndex(doc)) {
      for (const entry of doc.manifests) {
        const child = await client.getManifest({ ...src, digest: entry.digest }, options);
        await pullManifest(child.bytes, child.mediaType, child.digest);
      }
    } else {
      await eachLimited(uniqueBlobs(doc), options.concurrency ?? 4, (d) =>
        save(d.digest, () => client.fetchBlob(src, d, options)),
      );
    }
    await layout.writeBlob(digest, bytes);
  };
  let top = await client.getManifest(src, options);
  const doc = parseManifest(top.bytes, top.mediaType);
  if (isIndex(doc) && options.platform) {
    const entry = selectPlatform(doc, options.platform, src);
    top = await client.getManifest({ ...src, digest: entry.digest }, options);
  }
  await pullManifest(top.bytes, top.mediaType, top.digest);
  const desc: Descriptor = { mediaType: top.mediaType, digest: top.digest, size: top.bytes.length };
  await layout.addManifest(desc, tag);
  return desc;
}
