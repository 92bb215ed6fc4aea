import { Readable } from "node:stream";
import { type BlobSource, decompressLayer, readBlob } from "./blob-source.js";
import type { ImageConfig } from "./config.js";
import type { Descriptor } from "./descriptor.js";
import { type Digest, Digester, sha256 } from "./digest.js";
import { MoltError } from "./errors.js";
import { isIndex, parseManifest } from "./manifest.js";
import { MediaType } from "./media-types.js";

/** What {@link validateImage} checked, per single-platform image. */
export interface ValidatedImage {
  manifest: Digest;
  config: Digest;
  layers: { digest: Digest; size: number; diffId: Digest; uncompressedSize: number }[];
}

/** The result of {@link validateImage}. */
export interface ValidationReport {
  /** Digest of the root (manifest or index). */
  root: Digest;
  /** Every single-platform image reached. */
  images: ValidatedImage[];
}

/** An image failed validation; `problems` lists every inconsistency found. */
export class ImageValidationError extends MoltError<"MOLT_INVALID_IMAGE"> {
  /** One line per problem, each naming the blob concerned. */
  readonly problems: string[];
  constructor(root: string, problems: string[]) {
    super("MOLT_INVALID_IMAGE", `image ${root} is invalid:\n  ${problems.join("\n  ")}`);
    this.problems = problems;
  }
}

const OCI_LAYERS = new Set<string>([
  MediaType.OciLayer,
  MediaType.OciLayerGzip,
  MediaType.OciLayerZstd,
  "application/vnd.oci.image.layer.nondistributable.v1.tar",
  "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
  "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
]);
const DOCKER_LAYERS = new Set<string>([MediaType.DockerLayerGzip, MediaType.DockerForeignLayerGzip]);

async function hashStream(stream: AsyncIterable<unknown>): Promise<{ digest: Digest; size: number }> {
  const h = new Digester("sha256");
  for await (const c of stream) h.update(c as Buffer);
  return { size: h.size, digest: h.digest() };
}

/**
 * Checks an image end to end, as a registry or runtime would: every manifest's and config's
 * digest and size against the descriptor that names it, media types consistent with the manifest
 * kind, every layer's digest and size, every layer's uncompressed digest against the config's
 * `rootfs.diff_ids`, and history against the layer count. Indexes are followed into each child.
 *
 * @example
 * ```ts
 * const report = await validateImage({ open: (d) => store.openRead(d) }, manifestDescriptor);
 * report.images[0].layers[0].diffId;
 * ```
 * @throws {@link ImageValidationError} listing every problem found.
 */
export async function validateImage(
  source: BlobSource,
  root: Descriptor,
  options: { signal?: AbortSignal; layers?: boolean } = {},
): Promise<ValidationReport> {
  const problems: string[] = [];
  const images: ValidatedImage[] = [];
  await visit(source, root, problems, images, options);
  if (problems.length > 0) throw new ImageValidationError(root.digest, problems);
  return { root: root.digest, images };
}

async function visit(
  source: BlobSource,
  desc: Descriptor,
  problems: string[],
  images: ValidatedImage[],
  options: { signal?: AbortSignal; layers?: boolean },
): Promise<void> {
  options.signal?.throwIfAborted();
  const bytes = await readBlob(source, desc.digest).catch((e: unknown) => {
    problems.push(`manifest ${desc.digest}: cannot read (${(e as Error).message})`);
    return undefined;
  });
  if (!bytes) return;
  const actual = sha256(bytes);
  if (actual !== desc.digest) problems.push(`manifest ${desc.digest}: content hashes to ${actual}`);
  if (bytes.length !== desc.size)
    problems.push(`manifest ${desc.digest}: size ${bytes.length}, descriptor says ${desc.size}`);
  let doc: ReturnType<typeof parseManifest>;
  try {
    doc = parseManifest(bytes, desc.mediaType);
  } catch (e) {
    problems.push(`manifest ${desc.digest}: ${(e as Error).message}`);
    return;
  }
  if (doc.mediaType && desc.mediaType && doc.mediaType !== desc.mediaType) {
    problems.push(`manifest ${desc.digest}: mediaType ${doc.mediaType}, descriptor says ${desc.mediaType}`);
  }
  if (isIndex(doc)) {
    for (const child of doc.manifests) await visit(source, child, problems, images, options);
    return;
  }
  const docker = (doc.mediaType ?? desc.mediaType) === MediaType.DockerManifest;
  const wantConfig = docker ? MediaType.DockerConfig : MediaType.OciConfig;
  if (doc.config.mediaType !== wantConfig) {
    problems.push(
      `manifest ${desc.digest}: config media type ${doc.config.mediaType}, expected ${wantConfig}`,
    );
  }
  const cbytes = await readBlob(source, doc.config.digest).catch((e: unknown) => {
    problems.push(`config ${doc.config.digest}: cannot read (${(e as Error).message})`);
    return undefined;
  });
  if (!cbytes) return;
  const cdigest = sha256(cbytes);
  if (cdigest !== doc.config.digest)
    problems.push(`config ${doc.config.digest}: content hashes to ${cdigest}`);
  if (cbytes.length !== doc.config.size) {
    problems.push(`config ${doc.config.digest}: size ${cbytes.length}, descriptor says ${doc.config.size}`);
  }
  let config: ImageConfig;
  try {
    config = JSON.parse(cbytes.toString("utf8")) as ImageConfig;
  } catch (e) {
    problems.push(`config ${doc.config.digest}: not JSON (${(e as Error).message})`);
    return;
  }
  const diffIds = config.rootfs?.diff_ids ?? [];
  if (config.rootfs?.type !== "layers")
    problems.push(`config ${doc.config.digest}: rootfs.type is not "layers"`);
  if (!config.os || !config.architecture)
    problems.push(`config ${doc.config.digest}: os and architecture are required`);
  if (diffIds.length !== doc.layers.length) {
    problems.push(`manifest ${desc.digest}: ${doc.layers.length} layers but ${diffIds.length} diff_ids`);
  }
  if (config.history) {
    const nonEmpty = config.history.filter((h) => !h.empty_layer).length;
    if (nonEmpty !== doc.layers.length) {
      problems.push(
        `config ${doc.config.digest}: ${nonEmpty} non-empty history entries for ${doc.layers.length} layers`,
      );
    }
  }
  const image: ValidatedImage = { manifest: desc.digest, config: doc.config.digest, layers: [] };
  images.push(image);
  for (const [i, layer] of doc.layers.entries()) {
    options.signal?.throwIfAborted();
    const allowed = docker ? DOCKER_LAYERS : OCI_LAYERS;
    if (!allowed.has(layer.mediaType)) {
      problems.push(
        `layer ${layer.digest}: media type ${layer.mediaType} does not belong in a ${docker ? "Docker" : "OCI"} manifest`,
      );
    }
    if (options.layers === false) continue;
    try {
      const compressed = new Digester("sha256");
      const raw = await source.open(layer.digest);
      const tapped = (async function* () {
        for await (const c of raw) {
          compressed.update(c as Buffer);
          yield c as Buffer;
        }
      })();
      const un = await hashStream(decompressLayer(layer.mediaType, Readable.from(tapped)));
      const digest = compressed.digest();
      if (digest !== layer.digest) problems.push(`layer ${layer.digest}: content hashes to ${digest}`);
      if (compressed.size !== layer.size) {
        problems.push(`layer ${layer.digest}: size ${compressed.size}, descriptor says ${layer.size}`);
      }
      if (diffIds[i] !== un.digest) {
        problems.push(
          `layer ${layer.digest}: uncompressed digest ${un.digest}, config diff_ids[${i}] is ${diffIds[i]}`,
        );
      }
      image.layers.push({
        digest: layer.digest,
        size: layer.size,
        diffId: un.digest,
        uncompressedSize: un.size,
      });
    } catch (e) {
      problems.push(`layer ${layer.digest}: ${(e as Error).message}`);
    }
  }
}
