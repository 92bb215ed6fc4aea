import { spawn } from "node:child_process";
import { PassThrough, type Readable } from "node:stream";
import { createGunzip } from "node:zlib";
import type { Descriptor } from "./descriptor.js";
import type { Digest } from "./digest.js";
import {
  DecompressionFailedError,
  DecompressorUnavailableError,
  InvalidDocumentError,
  MoltError,
} from "./errors.js";
import { type AnyManifest, isIndex, parseManifest } from "./manifest.js";
import { isIndexType, layerCompression } from "./media-types.js";

/**
 * Where the image outputs read blobs from: anything that can open a blob by digest — a molt
 * `BlobStore` (`{ open: (d) => store.openRead(d) }`), an {@link OciLayout}, a registry client.
 */
export interface BlobSource {
  /** The bytes of the blob with this digest. */
  open(digest: Digest): Readable | Promise<Readable>;
}

/** A blob could not be read from a {@link BlobSource}. */
export class BlobReadError extends MoltError<"MOLT_BLOB_READ"> {
  /** The digest that was read. */
  readonly digest: string;
  constructor(digest: string, options?: { cause?: unknown }) {
    super("MOLT_BLOB_READ", `cannot read blob ${digest}`, options);
    this.digest = digest;
  }
}

/** Reads a whole (small) blob — a manifest or config — into memory. */
export async function readBlob(source: BlobSource, digest: Digest, limit = 64 << 20): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  try {
    for await (const c of await source.open(digest)) {
      n += (c as Buffer).length;
      if (n > limit) throw new InvalidDocumentError(`blob ${digest}`, `larger than ${limit} bytes`);
      chunks.push(c as Buffer);
    }
  } catch (e) {
    if (e instanceof InvalidDocumentError) throw e;
    throw new BlobReadError(digest, { cause: e });
  }
  return Buffer.concat(chunks);
}

/** A manifest document together with the descriptor it was reached by. */
export interface ManifestNode {
  descriptor: Descriptor;
  bytes: Buffer;
  doc: AnyManifest;
}

/**
 * Walks an image (manifest or index) depth-first, yielding each manifest/index it reaches,
 * parents before children.
 */
export async function* walkManifests(source: BlobSource, root: Descriptor): AsyncGenerator<ManifestNode> {
  const bytes = await readBlob(source, root.digest);
  const doc = parseManifest(bytes, root.mediaType);
  yield { descriptor: root, bytes, doc };
  if (isIndex(doc)) {
    for (const child of doc.manifests) {
      if (isIndexType(child.mediaType) || child.mediaType?.includes("manifest")) {
        yield* walkManifests(source, child);
      }
    }
  }
}

/**
 * Every blob descriptor an image reaches (the root, child manifests, configs, layers), each once,
 * in a deterministic order.
 */
export async function reachableBlobs(source: BlobSource, root: Descriptor): Promise<Descriptor[]> {
  const out = new Map<string, Descriptor>();
  for await (const node of walkManifests(source, root)) {
    if (!out.has(node.descriptor.digest)) out.set(node.descriptor.digest, node.descriptor);
    if (!isIndex(node.doc)) {
      for (const d of [node.doc.config, ...node.doc.layers]) if (!out.has(d.digest)) out.set(d.digest, d);
    }
  }
  return [...out.values()];
}

/**
 * Decompresses a layer stream according to its media type: gzip with node:zlib, zstd with the
 * `zstd` command (Node 20 has none built in), uncompressed as is.
 */
export function decompressLayer(mediaType: string, compressed: Readable): Readable {
  const kind = layerCompression(mediaType);
  if (kind === "gzip") {
    const gunzip = createGunzip();
    compressed.on("error", (e) => gunzip.destroy(e));
    return compressed.pipe(gunzip);
  }
  if (kind === "zstd") {
    const out = new PassThrough();
    const child = spawn("zstd", ["-q", "-d", "-c"], { stdio: ["pipe", "pipe", "pipe"] });
    const err: Buffer[] = [];
    child.stderr.on("data", (d: Buffer) => err.push(d));
    child.on("error", (e) => out.destroy(new DecompressorUnavailableError("zstd", { cause: e })));
    compressed.on("error", (e) => {
      child.kill();
      out.destroy(e);
    });
    child.stdin.on("error", () => undefined);
    compressed.pipe(child.stdin);
    child.stdout.pipe(out, { end: false });
    child.on("close", (code) => {
      if (code === 0) out.end();
      else out.destroy(new DecompressionFailedError(`zstd -d exited ${code}: ${Buffer.concat(err)}`));
    });
    return out;
  }
  return compressed;
}
