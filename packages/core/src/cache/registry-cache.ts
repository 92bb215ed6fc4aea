import { createHash } from "node:crypto";
import type { Readable } from "node:stream";
import {
  type Descriptor,
  type Digest,
  formatReference,
  type Manifest,
  MediaType,
  type Reference,
} from "@molt/oci";
import { type Registry, RegistryNotFoundError } from "@molt/registry-client";
import createDebug from "debug";
import { corruptLayerOf } from "./corrupt-layer.js";
import { hexOf } from "./key.js";
import {
  type CacheCallOptions,
  type CacheEntry,
  type CacheHit,
  type CacheListing,
  isExpired,
  type LayerCache,
  parseEntry,
  type SaltOptions,
} from "./layer-cache.js";

const debug = createDebug("molt:cache");

/** The manifest annotation holding a cache entry's record (inputs, history, diff id). */
export const ENTRY_ANNOTATION = "dev.molt.cache.entry";
/** The manifest annotation holding the cache repository's key salt (hex), under tag `salt`. */
export const SALT_ANNOTATION = "dev.molt.cache.salt";
/** The `artifactType` of the salt manifest. */
export const SALT_ARTIFACT_TYPE = "application/vnd.molt.cache.salt.v1";
/** The `artifactType` of cache entry manifests. */
export const ENTRY_ARTIFACT_TYPE = "application/vnd.molt.cache.step.v1+json";
const EMPTY_CONFIG = Buffer.from("{}");
const EMPTY_DESCRIPTOR: Descriptor = {
  mediaType: "application/vnd.oci.empty.v1+json",
  digest: "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a" as Digest,
  size: 2,
};
const ACCEPT = [MediaType.OciManifest];

/** Options of {@link RegistryLayerCache}. */
export interface RegistryLayerCacheOptions {
  /** Entries older than this many milliseconds are misses (`--cache-ttl`); default none. */
  ttlMs?: number;
  /** Probe only, never write (`--no-push-cache`). */
  readOnly?: boolean;
  /**
   * Hits carry a `verify` that downloads and hashes the layer: for builds whose outputs read the
   * bytes anyway (an OCI layout, a tarball, a destination on another registry), so a bad blob is
   * a miss found at the stage's end rather than a failed output. Off, a hit costs no layer bytes.
   */
  verifyHits?: boolean;
}

/**
 * A layer cache in a registry repository (kaniko's `--cache-repo`): one small OCI manifest per
 * key, tagged with the key's hex, whose only layer is the step's layer blob and whose annotation
 * records the entry (inputs by digest, history, diff id). A second tag `s-<slot>` points at the
 * entry last written for the same place on the chain, to explain misses.
 *
 * Probing a key is one GET of that small manifest; layer bytes are never fetched to probe. A
 * hit's layer blob is checked later, once, by its `present` (a HEAD) or by the push that mounts
 * it cross-repository into a destination on the same registry (which fails when the cache
 * repository lost it); a hit's layer is read straight from the cache repository.
 *
 * @example
 * ```ts
 * const cache = new RegistryLayerCache(client, parseReference("registry.example/app/cache"), { ttlMs: 14 * 864e5 });
 * await build({ context: ".", destinations: ["registry.example/app:1"], cache });
 * ```
 */
export class RegistryLayerCache implements LayerCache {
  readonly description: string;
  #configPushed: Promise<unknown> | undefined;

  constructor(
    private readonly client: Registry,
    /** The cache repository (tag and digest ignored). */
    readonly repository: Reference,
    private readonly options: RegistryLayerCacheOptions = {},
  ) {
    this.repository = { registry: repository.registry, repository: repository.repository };
    this.description = `registry ${formatReference(this.repository)}`;
  }

  #tag(tag: string): Reference {
    return { ...this.repository, tag };
  }

  async #entryAt(
    tag: string,
    options: CacheCallOptions,
  ): Promise<{ entry: CacheEntry; manifest: Manifest } | undefined> {
    let bytes: Buffer;
    try {
      bytes = (
        await this.client.getManifest(this.#tag(tag), {
          accept: ACCEPT,
          ...(options.signal ? { signal: options.signal } : {}),
        })
      ).bytes;
    } catch (e) {
      if (e instanceof RegistryNotFoundError) return undefined;
      throw e;
    }
    let manifest: Manifest;
    try {
      manifest = JSON.parse(bytes.toString("utf8")) as Manifest;
    } catch {
      options.onWarning?.(`cache entry ${tag} in ${this.description} is not JSON; ignored`);
      return undefined;
    }
    const text = manifest.annotations?.[ENTRY_ANNOTATION];
    const entry = text ? parseEntry(text) : undefined;
    if (!entry) {
      options.onWarning?.(`cache entry ${tag} in ${this.description} has no readable record; ignored`);
      return undefined;
    }
    return { entry, manifest };
  }

  async #readSalt(options: CacheCallOptions): Promise<Uint8Array | undefined> {
    let bytes: Buffer;
    try {
      bytes = (
        await this.client.getManifest(this.#tag("salt"), {
          accept: ACCEPT,
          ...(options.signal ? { signal: options.signal } : {}),
        })
      ).bytes;
    } catch (e) {
      if (e instanceof RegistryNotFoundError) return undefined;
      throw e;
    }
    let hex: unknown;
    try {
      hex = (JSON.parse(bytes.toString("utf8")) as Manifest).annotations?.[SALT_ANNOTATION];
    } catch {}
    if (typeof hex !== "string" || !/^[0-9a-f]{32,128}$/.test(hex)) {
      options.onWarning?.(`the key salt in ${this.description} (tag salt) is unreadable; ignored`);
      return undefined;
    }
    return Buffer.from(hex, "hex");
  }

  /**
   * The repository's key salt: a small manifest under tag `salt`. The first write puts it and
   * reads the tag again, adopting whatever is there (a build that wrote at the same moment may
   * have won); a registry has no compare-and-swap on tags, so two builds racing to write the
   * very first salt can each keep their own for that one build, which only costs misses (their
   * keys differ), never a wrong hit. Read-only stores never write it.
   */
  async salt(options: SaltOptions = {}): Promise<Uint8Array | undefined> {
    const { propose } = options;
    if (!propose || this.options.readOnly) return this.#readSalt(options);
    if (!options.replace) {
      const found = await this.#readSalt(options);
      if (found) return found;
    }
    const signalOpt = options.signal ? { signal: options.signal } : {};
    await this.#pushConfig(signalOpt);
    const manifest = {
      schemaVersion: 2,
      mediaType: MediaType.OciManifest,
      artifactType: SALT_ARTIFACT_TYPE,
      config: EMPTY_DESCRIPTOR,
      layers: [],
      annotations: { [SALT_ANNOTATION]: Buffer.from(propose).toString("hex") },
    };
    await this.client.putManifest(
      this.#tag("salt"),
      Buffer.from(JSON.stringify(manifest)),
      MediaType.OciManifest,
      signalOpt,
    );
    return this.#readSalt(options);
  }

  #pushConfig(signalOpt: { signal?: AbortSignal }): Promise<unknown> {
    this.#configPushed ??= this.client.pushBlob(
      this.repository,
      EMPTY_DESCRIPTOR,
      () => EMPTY_CONFIG,
      signalOpt,
    );
    return this.#configPushed;
  }

  async get(key: Digest, options: CacheCallOptions = {}): Promise<CacheHit | undefined> {
    const found = await this.#entryAt(hexOf(key), options);
    if (!found) return undefined;
    const { entry, manifest } = found;
    if (entry.key !== key) {
      options.onWarning?.(`cache entry ${hexOf(key)} in ${this.description} records another key; ignored`);
      return undefined;
    }
    if (isExpired(entry, this.options.ttlMs)) {
      debug("entry %s expired", key);
      return undefined;
    }
    if (!entry.layer) return { entry };
    const layer = manifest.layers[0];
    if (!layer || layer.digest !== entry.layer.descriptor.digest) {
      options.onWarning?.(
        `cache entry ${hexOf(key)} in ${this.description}: manifest and record disagree; ignored`,
      );
      return undefined;
    }
    // The blob is not asked for here: a build checks it once, before anything references it
    // (`present`, or the push's own mount into its destination; `verify` reads it whole).
    const hit: CacheHit = { entry, origin: { kind: "registry", reference: this.repository } };
    if (this.options.verifyHits) hit.verify = (signal) => this.#verifyBlob(layer, signal);
    else
      hit.present = (signal) => this.client.hasBlob(this.repository, layer.digest, signal ? { signal } : {});
    return hit;
  }

  /** Downloads the blob and checks its bytes against its digest and size. */
  async #verifyBlob(layer: Descriptor, signal?: AbortSignal): Promise<boolean> {
    try {
      const body = await this.client.fetchBlob(this.repository, layer, signal ? { signal } : {});
      const h = createHash("sha256");
      let n = 0;
      for await (const c of body) {
        h.update(c as Buffer);
        n += (c as Buffer).length;
      }
      return n === layer.size && `sha256:${h.digest("hex")}` === layer.digest;
    } catch (e) {
      if (signal?.aborted || corruptLayerOf(e) === undefined) throw e;
      return false;
    }
  }

  async nearest(slot: Digest, options: CacheCallOptions = {}): Promise<CacheEntry | undefined> {
    return (await this.#entryAt(`s-${hexOf(slot).slice(0, 62)}`, options))?.entry;
  }

  async put(
    entry: CacheEntry,
    layer: (() => Promise<Readable>) | undefined,
    options: CacheCallOptions = {},
  ): Promise<void> {
    if (this.options.readOnly) return;
    const signalOpt = options.signal ? { signal: options.signal } : {};
    // Blobs first: the registry refuses a manifest whose blobs it lacks, and a killed build
    // leaves at most an unreferenced blob.
    await this.#pushConfig(signalOpt);
    const layers: Descriptor[] = [];
    if (entry.layer && layer) {
      const d = entry.layer.descriptor;
      await this.client.pushBlob(this.repository, d, layer, signalOpt);
      layers.push({ mediaType: d.mediaType, digest: d.digest, size: d.size });
    }
    const manifest = {
      schemaVersion: 2,
      mediaType: MediaType.OciManifest,
      artifactType: ENTRY_ARTIFACT_TYPE,
      config: EMPTY_DESCRIPTOR,
      layers,
      annotations: {
        [ENTRY_ANNOTATION]: JSON.stringify(entry),
        "org.opencontainers.image.created": entry.created,
      },
    };
    const bytes = Buffer.from(JSON.stringify(manifest));
    await this.client.putManifest(this.#tag(hexOf(entry.key)), bytes, MediaType.OciManifest, signalOpt);
    await this.client.putManifest(
      this.#tag(`s-${hexOf(entry.slot).slice(0, 62)}`),
      bytes,
      MediaType.OciManifest,
      signalOpt,
    );
    debug("stored %s in %s", entry.key, this.description);
  }

  async *list(options: CacheCallOptions = {}): AsyncIterable<CacheListing> {
    const tags = await this.client.listTags(
      this.repository,
      options.signal ? { signal: options.signal } : {},
    );
    for (const tag of tags) {
      if (!/^[0-9a-f]{64}$/.test(tag)) continue;
      const found = await this.#entryAt(tag, options);
      if (!found) continue;
      yield {
        key: found.entry.key,
        step: found.entry.step,
        size: found.entry.layer?.descriptor.size ?? 0,
        created: found.entry.created,
      };
    }
  }

  async delete(key: Digest, options: CacheCallOptions = {}): Promise<boolean> {
    const ref = this.#tag(hexOf(key));
    const head = await this.client.headManifest(ref, {
      accept: ACCEPT,
      ...(options.signal ? { signal: options.signal } : {}),
    });
    if (!head) return true;
    return this.client.deleteManifest(
      { ...this.repository, digest: head.digest },
      options.signal ? { signal: options.signal } : {},
    );
  }
}
