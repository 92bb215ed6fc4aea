import { createHash } from "node:crypto";
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { type Descriptor, type Digest, MediaType, parseReference, type Reference } from "@molt/oci";
import { type Registry, RegistryNotFoundError } from "@molt/registry-client";
import { isStoreSpec, resolveCacheOptions } from "../cache/cache-options.js";
import type { BuildOptions } from "../options.js";

/** The media type of a stored layer index (gzip'd JSON, see `serializeLayerIndex`). */
export const LAYER_INDEX_MEDIA_TYPE = "application/vnd.molt.layer-index.v1+json+gzip";
/** The `artifactType` of the manifest that holds a layer index in a cache repository. */
export const LAYER_INDEX_ARTIFACT_TYPE = "application/vnd.molt.layer-index.v1";

const EMPTY_CONFIG = Buffer.from("{}");
const EMPTY_DESCRIPTOR: Descriptor = {
  mediaType: "application/vnd.oci.empty.v1+json",
  digest: "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a" as Digest,
  size: 2,
};

const hex = (diffId: string) => diffId.replace(/^sha256:/, "");
const sha256 = (b: Buffer) => `sha256:${createHash("sha256").update(b).digest("hex")}` as Digest;

/** Where layer indexes are kept between builds, by diff_id (a pure function of it: never stale). */
export interface LayerIndexStore {
  readonly description: string;
  /** The stored bytes of the index of the layer with this diff_id, or undefined. */
  get(diffId: string, signal?: AbortSignal): Promise<Buffer | undefined>;
  /** Stores an index's bytes. */
  put(diffId: string, bytes: Buffer, signal?: AbortSignal): Promise<void>;
}

/** `<cache-dir>/molt-layer-index/<diff_id hex>.json.gz`, written to a temp file and renamed. */
export class DirectoryIndexStore implements LayerIndexStore {
  readonly description: string;
  constructor(
    readonly dir: string,
    private readonly readOnly = false,
  ) {
    this.description = `directory ${dir}`;
  }
  #path(diffId: string) {
    return join(this.dir, "molt-layer-index", `${hex(diffId)}.json.gz`);
  }
  async get(diffId: string): Promise<Buffer | undefined> {
    try {
      return await readFile(this.#path(diffId));
    } catch {
      return undefined;
    }
  }
  async put(diffId: string, bytes: Buffer): Promise<void> {
    if (this.readOnly) return;
    const path = this.#path(diffId);
    await mkdir(join(this.dir, "molt-layer-index"), { recursive: true });
    const tmp = `${path}.${process.pid}.${Date.now()}.tmp`;
    await writeFile(tmp, bytes);
    await rename(tmp, path);
  }
}

/**
 * In the cache repository (`--cache-repo`): one small OCI artifact per layer, tagged
 * `layer-index-<diff_id hex>`, whose one blob is the index. `molt cache ls` lists only step
 * entries (64-hex tags), so these stay out of its way.
 */
export class RegistryIndexStore implements LayerIndexStore {
  readonly description: string;
  readonly repository: Reference;
  constructor(
    private readonly client: Registry,
    repository: Reference,
    private readonly readOnly = false,
  ) {
    this.repository = { registry: repository.registry, repository: repository.repository };
    this.description = `registry ${repository.registry}/${repository.repository}`;
  }
  #tag(diffId: string): Reference {
    return { ...this.repository, tag: `layer-index-${hex(diffId)}` };
  }
  async get(diffId: string, signal?: AbortSignal): Promise<Buffer | undefined> {
    const so = signal ? { signal } : {};
    let manifest: { layers?: Descriptor[]; artifactType?: string };
    try {
      const got = await this.client.getManifest(this.#tag(diffId), {
        accept: [MediaType.OciManifest],
        ...so,
      });
      manifest = JSON.parse(got.bytes.toString("utf8")) as typeof manifest;
    } catch (e) {
      if (e instanceof RegistryNotFoundError || e instanceof SyntaxError) return undefined;
      throw e;
    }
    const layer = manifest.layers?.[0];
    if (manifest.artifactType !== LAYER_INDEX_ARTIFACT_TYPE || !layer || layer.size > 64 << 20)
      return undefined;
    const body = await this.client.fetchBlob(this.repository, layer, so);
    const chunks: Buffer[] = [];
    for await (const c of body) chunks.push(c as Buffer);
    const bytes = Buffer.concat(chunks);
    return sha256(bytes) === layer.digest ? bytes : undefined;
  }
  async put(diffId: string, bytes: Buffer, signal?: AbortSignal): Promise<void> {
    if (this.readOnly) return;
    const so = signal ? { signal } : {};
    const layer: Descriptor = {
      mediaType: LAYER_INDEX_MEDIA_TYPE,
      digest: sha256(bytes),
      size: bytes.length,
    };
    await this.client.pushBlob(this.repository, EMPTY_DESCRIPTOR, () => EMPTY_CONFIG, so);
    await this.client.pushBlob(this.repository, layer, () => bytes, so);
    const manifest = {
      schemaVersion: 2,
      mediaType: MediaType.OciManifest,
      artifactType: LAYER_INDEX_ARTIFACT_TYPE,
      config: EMPTY_DESCRIPTOR,
      layers: [layer],
      annotations: { "dev.molt.layer-index.diff-id": diffId },
    };
    await this.client.putManifest(
      this.#tag(diffId),
      Buffer.from(JSON.stringify(manifest)),
      MediaType.OciManifest,
      so,
    );
  }
}

/**
 * The build's index stores: its directory and registry cache stores, in their order (all
 * written; `cache.push: false` writes none).
 */
export function indexStores(options: BuildOptions, client: Registry): LayerIndexStore[] {
  const c = resolveCacheOptions(options.cache);
  const out: LayerIndexStore[] = [];
  for (const s of c.stores) {
    if (!isStoreSpec(s)) continue;
    if (s.type === "directory") out.push(new DirectoryIndexStore(s.path, c.readOnly));
    else out.push(new RegistryIndexStore(client, parseReference(s.repo), c.readOnly));
  }
  return out;
}
