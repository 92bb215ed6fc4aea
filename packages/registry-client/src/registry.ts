import type { Readable } from "node:stream";
import type { Descriptor, Digest, Manifest, MediaTypeName, Platform, Reference } from "@molt/oci";
import type { BlobSource } from "./blob-upload.js";
import type { CallOptions, FetchedManifest, ResolvedImage, TransferOptions } from "./client.js";

/** What {@link Registry.headManifest} says of a manifest the registry holds. */
export interface ManifestHead {
  digest: Digest;
  mediaType: string;
  size: number;
}

/** Options of {@link Registry.pushBlob}. */
export interface PushBlobOptions extends TransferOptions {
  /** Try a cross-repository mount from this repository (same registry) before uploading. */
  mountFrom?: Reference;
  /**
   * Upload without asking first whether the repository has the blob: one round trip less for a
   * small blob that is usually new (an image config); uploading one that exists is harmless.
   */
  skipExistsCheck?: boolean;
  /**
   * The blob was just made, so the repository most likely lacks it: the existence check runs
   * beside the upload's first request rather than before it (one round trip less).
   */
  likelyNew?: boolean;
  /**
   * Never upload the bytes: the blob must already be in the repository or be mounted from
   * `mountFrom`. When neither has it, the upload session the mount opened is cancelled and the
   * call fails with a `RegistryNotFoundError` (`BLOB_UNKNOWN`), without calling `source`.
   * A build uses it for cached layers, whose push doubles as the check that the cache still has them.
   */
  mountOnly?: boolean;
}

/**
 * Exactly what a build asks of a registry: manifests (resolve, get, head, put, delete), blobs
 * (exists, get, put, put while hashing, mount), tags, and the push-permission check. The real
 * `RegistryClient` implements it; pass your own as `build({ registry })` to stand in a
 * registry of your own (a cache in front of it, a recorder, an air-gapped store). A wrapper
 * around a `RegistryClient` is the usual start.
 *
 * Every call takes an `AbortSignal`; blob calls report byte progress through `onProgress`.
 * Errors should be `RegistryError`s (`RegistryNotFoundError` for a missing manifest or
 * blob), as a build reads their codes.
 *
 * @example
 * ```ts
 * import { build, RegistryClient, type Registry } from "molt";
 *
 * const real = new RegistryClient();
 * const pushed: string[] = [];
 * // Every method forwards to the real client; putManifest also records the tag.
 * const registry: Registry = {
 *   getManifest: (ref, o) => real.getManifest(ref, o),
 *   headManifest: (ref, o) => real.headManifest(ref, o),
 *   resolveImage: (ref, o) => real.resolveImage(ref, o),
 *   fetchBlob: (ref, d, o) => real.fetchBlob(ref, d, o),
 *   hasBlob: (ref, d, o) => real.hasBlob(ref, d, o),
 *   pushBlob: (ref, d, s, o) => real.pushBlob(ref, d, s, o),
 *   pushBlobStream: (ref, s, m, o) => real.pushBlobStream(ref, s, m, o),
 *   checkPushPermission: (ref, o) => real.checkPushPermission(ref, o),
 *   putManifest: (ref, b, m, o) => {
 *     pushed.push(`${ref.repository}:${ref.tag}`);
 *     return real.putManifest(ref, b, m, o);
 *   },
 *   deleteManifest: (ref, o) => real.deleteManifest(ref, o),
 *   listTags: (ref, o) => real.listTags(ref, o),
 * };
 * await build({ context: ".", destinations: ["registry.example/app:1"], registry });
 * await real.close();
 * ```
 */
export interface Registry {
  /** Fetches a manifest or index by tag or digest; its digest is checked. */
  getManifest(ref: Reference, opts?: CallOptions & { accept?: string[] }): Promise<FetchedManifest>;
  /** Digest, media type and size of a manifest, or `undefined` when the registry does not hold it. */
  headManifest(ref: Reference, opts?: CallOptions & { accept?: string[] }): Promise<ManifestHead | undefined>;
  /**
   * Resolves a reference to one platform's manifest and config (following an index).
   * `onManifest`, when given, is told of the platform's manifest (and its digest) before the
   * config is fetched, so a caller can start on the layers meanwhile; an implementation may
   * ignore it.
   */
  resolveImage(
    ref: Reference,
    opts?: CallOptions & { platform?: Platform; onManifest?: (manifest: Manifest, digest: Digest) => void },
  ): Promise<ResolvedImage>;
  /** Streams a blob; the stream fails at its end when the bytes do not match `descriptor`. */
  fetchBlob(ref: Reference, descriptor: Descriptor, opts?: TransferOptions): Promise<Readable>;
  /** True when `ref`'s repository holds the blob. */
  hasBlob(ref: Reference, digest: Digest, opts?: CallOptions): Promise<boolean>;
  /**
   * Puts a blob: `exists` when already there, `mounted` after a cross-repository mount from
   * `opts.mountFrom`, else `uploaded`. `source` may be called again for a retry.
   */
  pushBlob(
    ref: Reference,
    descriptor: Descriptor,
    source: BlobSource,
    opts?: PushBlobOptions,
  ): Promise<"exists" | "mounted" | "uploaded">;
  /** Uploads a blob whose digest is not known in advance, hashing it on the way; returns its descriptor. */
  pushBlobStream(
    ref: Reference,
    source: () => Readable | Promise<Readable>,
    mediaType: MediaTypeName,
    opts?: TransferOptions,
  ): Promise<Descriptor>;
  /** Throws unless the caller may push to `ref`'s repository (called before a build's first step). */
  checkPushPermission(ref: Reference, opts?: CallOptions): Promise<void>;
  /** Puts a manifest by `ref.tag` (else `ref.digest`); returns its digest. */
  putManifest(ref: Reference, bytes: Buffer, mediaType: string, opts?: CallOptions): Promise<Digest>;
  /** Deletes a manifest by `ref.digest`; false when the registry does not allow deletes. */
  deleteManifest(ref: Reference, opts?: CallOptions): Promise<boolean>;
  /** Lists a repository's tags. */
  listTags(ref: Reference, opts?: CallOptions & { pageSize?: number }): Promise<string[]>;
}
