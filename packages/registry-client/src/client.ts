import type { Readable } from "node:stream";
import {
  DEFAULT_PLATFORM,
  type Descriptor,
  type Digest,
  DigestMismatchError,
  formatReference,
  type ImageConfig,
  type ImageIndex,
  isDigest,
  isIndex,
  type Manifest,
  type MediaTypeName,
  type Platform,
  parseManifest,
  type Reference,
  sha256,
} from "@molt/oci";
import createDebug from "debug";
import { Authenticator, repositoryScope } from "./auth/authenticator.js";
import { downloadBlob, readBlob } from "./blob-download.js";
import { type BlobSource, uploadBlob, uploadStreamedBlob } from "./blob-upload.js";
import { abandon, readLimited } from "./body.js";
import { resolveCredential } from "./credentials/chain.js";
import type { Credential } from "./credentials/types.js";
import { RegistryProtocolError } from "./errors.js";
import { Limiter } from "./limiter.js";
import {
  bareMediaType,
  checkDescriptor,
  DEFAULT_MANIFEST_ACCEPT,
  manifestPath,
  selectPlatform,
  verifyManifestDigest,
} from "./manifests.js";
import type { RegistryClientOptions } from "./options.js";
import type { RegistryProgressHandler } from "./progress.js";
import type { Registry } from "./registry.js";
import { DEFAULT_IDLE_TIMEOUT_MS, Dispatchers } from "./transport/dispatchers.js";
import { RegistryHttp } from "./transport/http.js";
import { retryPolicy } from "./transport/retry.js";

const debug = createDebug("molt:registry");

const DEFAULT_MAX_MANIFEST = 4 * 1024 * 1024;
/** The default cap of one registry operation: 30 minutes. */
const DEFAULT_OPERATION_TIMEOUT_MS = 30 * 60_000;
const MAX_CONFIG = 16 * 1024 * 1024;

/** Common options of every call: cancellation. */
export interface CallOptions {
  signal?: AbortSignal;
  /**
   * Receives this call's events instead of the client's `onProgress`: its retries
   * (`molt:registry:retry`), and for a transfer its byte progress.
   */
  onProgress?: RegistryProgressHandler;
}

/** Options of calls that move blob bytes: cancellation and byte progress. */
export interface TransferOptions extends CallOptions {
  onProgress?: RegistryProgressHandler;
}

/** A fetched manifest (or index): its exact bytes, media type and digest. */
export interface FetchedManifest {
  bytes: Buffer;
  mediaType: string;
  digest: Digest;
}

/** An image resolved to one platform: manifest, config, and the index it came from (if any). */
export interface ResolvedImage {
  manifest: Manifest;
  manifestBytes: Buffer;
  manifestDigest: Digest;
  mediaType: string;
  config: ImageConfig;
  configBytes: Buffer;
  /** Digest of the index / manifest list the platform was selected from. */
  indexDigest?: Digest;
}

/**
 * A client of the OCI distribution API: manifests, blobs and uploads, with docker's credential
 * chain, bearer/basic auth, retries, mirrors and per-registry concurrency limits. One client
 * keeps connection pools and token caches; call {@link RegistryClient.close} when done.
 *
 * @example
 * ```ts
 * const client = new RegistryClient({ insecure: ["127.0.0.1:5000"] });
 * const img = await client.resolveImage(parseReference("127.0.0.1:5000/app:1"), {
 *   platform: { os: "linux", architecture: "arm64", variant: "v8" },
 * });
 * console.log(img.manifestDigest, img.config.config?.Cmd);
 * await client.close();
 * ```
 */
export class RegistryClient implements Registry {
  readonly #http: RegistryHttp;
  readonly #dispatchers: Dispatchers;
  readonly #limiters = new Map<string, Limiter>();
  readonly #options: RegistryClientOptions;
  readonly #maxManifest: number;

  constructor(options: RegistryClientOptions = {}) {
    this.#options = options;
    this.#maxManifest = options.maxManifestBytes ?? DEFAULT_MAX_MANIFEST;
    // Mirrors given as http:// URLs are plain HTTP hosts.
    const httpMirrors = [...(options.mirrors ?? []), ...Object.values(options.registryMaps ?? {}).flat()]
      .filter((m) => m.startsWith("http://"))
      .map((m) => m.slice("http://".length).split("/")[0]!);
    // Mirrors are only ever pulled from.
    this.#dispatchers = new Dispatchers({
      ...options,
      pull: { ...options.pull, insecure: [...(options.pull?.insecure ?? []), ...httpMirrors] },
    });
    const env = options.env ?? process.env;
    const explicit = options.credentials;
    const lookup = async (host: string, repository?: string): Promise<Credential | undefined> => {
      const userHost = host === "registry-1.docker.io" ? "docker.io" : host;
      if (typeof explicit === "function") {
        const c = await explicit(userHost);
        if (c) return c;
      } else if (explicit) {
        const c =
          explicit[userHost] ??
          explicit[host] ??
          (userHost === "docker.io" ? explicit["index.docker.io"] : undefined);
        if (c) return c;
      }
      if (options.noCredentialChain) return undefined;
      return resolveCredential(userHost, repository, { env });
    };
    const policy = retryPolicy(options.retry);
    let http!: RegistryHttp;
    const auth = new Authenticator(lookup, (url, init) => http.send(url, init), "molt");
    http = new RegistryHttp(this.#dispatchers, auth, policy, options.userAgent ?? "molt", undefined, {
      idleMs: options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS,
      operationMs: options.operationTimeoutMs ?? DEFAULT_OPERATION_TIMEOUT_MS,
    });
    this.#http = http;
  }

  #limiter(registry: string): Limiter {
    let l = this.#limiters.get(registry);
    if (!l) {
      l = new Limiter(this.#options.concurrency ?? 6);
      this.#limiters.set(registry, l);
    }
    return l;
  }

  /**
   * The references to try for a pull: Docker Hub mirrors first (in order), then the reference
   * itself. Mirrors may carry a path prefix (`mirror.example/hub`).
   */
  #pullSources(ref: Reference): Reference[] {
    const maps = this.#options.registryMaps ?? {};
    const hubAliases = ["docker.io", "index.docker.io", "registry-1.docker.io"];
    const mapped = hubAliases.includes(ref.registry)
      ? hubAliases.flatMap((a) => maps[a] ?? [])
      : (maps[ref.registry] ?? []);
    const mirrors = [...mapped, ...(ref.registry === "docker.io" ? (this.#options.mirrors ?? []) : [])];
    if (mirrors.length === 0) return [ref];
    const out: Reference[] = [];
    for (const m of mirrors) {
      const plain = m.replace(/^https?:\/\//, "").replace(/\/+$/, "");
      const slash = plain.indexOf("/");
      const host = slash >= 0 ? plain.slice(0, slash) : plain;
      const prefix = slash >= 0 ? `${plain.slice(slash + 1)}/` : "";
      out.push({ ...ref, registry: host, repository: `${prefix}${ref.repository}` });
    }
    const skip = this.#options.skipDefaultRegistryFallback;
    const skipped =
      skip === true ||
      (Array.isArray(skip) &&
        (skip.includes(ref.registry) ||
          (hubAliases.includes(ref.registry) && skip.some((h) => hubAliases.includes(h)))));
    if (!skipped) out.push(ref);
    return out;
  }

  /** Tries each pull source in turn; the last error wins when all fail. Aborts are never retried elsewhere. */
  async #withMirrors<T>(
    ref: Reference,
    signal: AbortSignal | undefined,
    fn: (src: Reference) => Promise<T>,
  ): Promise<T> {
    const sources = this.#pullSources(ref);
    let last: unknown;
    for (const [i, src] of sources.entries()) {
      try {
        return await fn(src);
      } catch (e) {
        signal?.throwIfAborted();
        if (i === sources.length - 1) throw e;
        debug("mirror %s failed, falling back: %s", src.registry, (e as Error).message);
        last = e;
      }
    }
    throw last;
  }

  /**
   * Fetches a manifest or index by tag or digest, verifying its digest (against the reference's
   * digest, and `Docker-Content-Digest` when sent) and size limit.
   */
  async getManifest(
    ref: Reference,
    opts: CallOptions & { accept?: string[] } = {},
  ): Promise<FetchedManifest> {
    return this.#withMirrors(ref, opts.signal, (src) => this.#getManifest(src, ref, opts));
  }

  async #getManifest(
    src: Reference,
    ref: Reference,
    opts: CallOptions & { accept?: string[] },
  ): Promise<FetchedManifest> {
    const what = `get manifest ${formatReference(ref)}`;
    const res = await this.#http.request({
      registry: src.registry,
      repository: src.repository,
      method: "GET",
      path: manifestPath(src),
      headers: { accept: (opts.accept ?? DEFAULT_MANIFEST_ACCEPT).join(", ") },
      scopes: [repositoryScope(src.repository, "pull")],
      followRedirects: true,
      what,
      signal: opts.signal,
      onProgress: opts.onProgress,
    });
    const ctx = { registry: src.registry, repository: src.repository };
    const lengthHeader = Number(res.headers["content-length"] ?? 0);
    if (lengthHeader > this.#maxManifest) {
      abandon(res.body);
      throw new RegistryProtocolError(`${what}: larger than the ${this.#maxManifest}-byte limit`, ctx);
    }
    const bytes = await readLimited(res.body, this.#maxManifest, what, ctx);
    const dcd = res.headers["docker-content-digest"];
    const digest = verifyManifestDigest(ref, bytes, Array.isArray(dcd) ? dcd[0] : dcd);
    let mediaType = bareMediaType(res.headers["content-type"] as string | undefined);
    try {
      const doc = JSON.parse(bytes.toString("utf8")) as { mediaType?: unknown };
      if (typeof doc.mediaType === "string" && doc.mediaType) mediaType = doc.mediaType;
    } catch {
      throw new RegistryProtocolError(`${what}: the manifest is not JSON`, ctx);
    }
    debug("manifest %s → %s (%s)", formatReference(ref), digest, mediaType);
    return { bytes, mediaType, digest };
  }

  /**
   * Asks whether a manifest exists (HEAD) and returns its digest, media type and size, or
   * `undefined` when the registry does not have it.
   */
  async headManifest(
    ref: Reference,
    opts: CallOptions & { accept?: string[] } = {},
  ): Promise<{ digest: Digest; mediaType: string; size: number } | undefined> {
    const res = await this.#http.request({
      registry: ref.registry,
      repository: ref.repository,
      method: "HEAD",
      path: manifestPath(ref),
      headers: { accept: (opts.accept ?? DEFAULT_MANIFEST_ACCEPT).join(", ") },
      scopes: [repositoryScope(ref.repository, "pull")],
      followRedirects: true,
      expect: [200, 404],
      what: `check manifest ${formatReference(ref)}`,
      signal: opts.signal,
    });
    await res.body.dump().catch(() => {});
    if (res.status === 404) return undefined;
    const dcd = res.headers["docker-content-digest"];
    const digest = (Array.isArray(dcd) ? dcd[0] : dcd) ?? ref.digest;
    if (!digest || !isDigest(digest)) {
      throw new RegistryProtocolError(
        `check manifest ${formatReference(ref)}: no Docker-Content-Digest in the answer`,
        {
          registry: ref.registry,
          repository: ref.repository,
        },
      );
    }
    return {
      digest,
      mediaType: bareMediaType(res.headers["content-type"] as string | undefined),
      size: Number(res.headers["content-length"] ?? 0),
    };
  }

  /**
   * Resolves a reference to one image: follows an index / manifest list to the manifest for
   * `platform` (default linux/amd64), then fetches and parses the config (digest-checked).
   * `onManifest` is told of that manifest before the config is fetched (a build starts
   * downloading the base's layers meanwhile).
   * @throws {@link PlatformNotFoundError} when the index has no such platform.
   */
  async resolveImage(
    ref: Reference,
    opts: CallOptions & {
      platform?: Platform;
      onManifest?: (manifest: Manifest, digest: Digest) => void;
    } = {},
  ): Promise<ResolvedImage> {
    const platform = opts.platform ?? DEFAULT_PLATFORM;
    const top = await this.getManifest(ref, opts);
    let fetched = top;
    let indexDigest: Digest | undefined;
    let doc = this.#parse(top, ref);
    for (let depth = 0; isIndex(doc); depth++) {
      if (depth > 2) {
        throw new RegistryProtocolError(`resolve ${formatReference(ref)}: indexes nested too deep`, {
          registry: ref.registry,
          repository: ref.repository,
        });
      }
      indexDigest ??= fetched.digest;
      const entry = selectPlatform(doc as ImageIndex, platform, ref);
      checkDescriptor(entry, "index entry", ref);
      fetched = await this.getManifest({ ...ref, digest: entry.digest }, opts);
      doc = this.#parse(fetched, ref);
    }
    const manifest = doc as Manifest;
    checkDescriptor(manifest.config, "config descriptor", ref);
    for (const l of manifest.layers) checkDescriptor(l, "layer descriptor", ref);
    opts.onManifest?.(manifest, fetched.digest);
    // The config's retries go to the caller too (not its byte progress: it is part of resolving).
    const onProgress = opts.onProgress;
    const retries: RegistryProgressHandler | undefined = onProgress
      ? (e) => {
          if (e.type === "molt:registry:retry") onProgress(e);
        }
      : undefined;
    const configBytes = await this.#withMirrors(ref, opts.signal, (src) =>
      readBlob(this.#http, src, manifest.config, MAX_CONFIG, opts.signal, retries),
    );
    let config: ImageConfig;
    try {
      config = JSON.parse(configBytes.toString("utf8")) as ImageConfig;
    } catch {
      throw new RegistryProtocolError(`resolve ${formatReference(ref)}: the image config is not JSON`, {
        registry: ref.registry,
        repository: ref.repository,
      });
    }
    const out: ResolvedImage = {
      manifest,
      manifestBytes: fetched.bytes,
      manifestDigest: fetched.digest,
      mediaType: fetched.mediaType,
      config,
      configBytes,
    };
    if (indexDigest) out.indexDigest = indexDigest;
    return out;
  }

  #parse(m: FetchedManifest, ref: Reference) {
    try {
      return parseManifest(m.bytes, m.mediaType);
    } catch (e) {
      throw new RegistryProtocolError(`manifest of ${formatReference(ref)}: ${(e as Error).message}`, {
        registry: ref.registry,
        repository: ref.repository,
        cause: e,
      });
    }
  }

  /**
   * Streams a blob. The stream fails with {@link DigestMismatchError} at the end when the bytes
   * do not match the descriptor. Redirects to other hosts are followed without credentials;
   * dropped connections are resumed with `Range`.
   */
  async fetchBlob(ref: Reference, descriptor: Descriptor, opts: TransferOptions = {}): Promise<Readable> {
    const limiter = this.#limiter(ref.registry);
    // The slot is held while the response starts, not while the caller reads: a caller that
    // opens many streams before reading them must not deadlock.
    return limiter.run(
      () =>
        this.#withMirrors(ref, opts.signal, (src) =>
          downloadBlob(this.#http, src, descriptor, { signal: opts.signal, onProgress: opts.onProgress }),
        ),
      opts.signal,
    );
  }

  /** True when the repository holds the blob (HEAD). */
  async hasBlob(ref: Reference, digest: Digest, opts: CallOptions = {}): Promise<boolean> {
    const res = await this.#http.request({
      registry: ref.registry,
      repository: ref.repository,
      method: "HEAD",
      path: `/v2/${ref.repository}/blobs/${digest}`,
      scopes: [repositoryScope(ref.repository, "pull")],
      expect: [200, 404],
      followRedirects: true,
      what: `check blob ${digest} in ${formatReference({ registry: ref.registry, repository: ref.repository })}`,
      signal: opts.signal,
    });
    await res.body.dump().catch(() => {});
    return res.status === 200;
  }

  /**
   * Pushes a blob: `exists` when already there, `mounted` after a cross-repository mount from
   * `mountFrom` (same registry), else `uploaded` (monolithic or chunked, per options).
   * `source` is called again for every try, so it must produce the bytes afresh.
   */
  async pushBlob(
    ref: Reference,
    descriptor: Descriptor,
    source: BlobSource,
    opts: TransferOptions & {
      mountFrom?: Reference;
      mode?: "monolithic" | "chunked";
      chunkSize?: number;
      /** Upload without asking first whether the repository has the blob (a small, usually new blob). */
      skipExistsCheck?: boolean;
      likelyNew?: boolean;
      /** Never upload: fail with `BLOB_UNKNOWN` unless the blob is there or mounted (see `PushBlobOptions`). */
      mountOnly?: boolean;
    } = {},
  ): Promise<"exists" | "mounted" | "uploaded"> {
    return this.#limiter(ref.registry).run(
      () =>
        uploadBlob(
          this.#http,
          ref,
          descriptor,
          source,
          {
            mode: this.#options.upload?.mode ?? "monolithic",
            chunkSize: this.#options.upload?.chunkSize ?? 16 * 1024 * 1024,
          },
          opts,
        ),
      opts.signal,
    );
  }

  /**
   * Uploads a blob whose digest is not known in advance (e.g. compressed on the fly): streams
   * it once while hashing and returns its descriptor.
   */
  async pushBlobStream(
    ref: Reference,
    source: () => Readable | Promise<Readable>,
    mediaType: MediaTypeName,
    opts: TransferOptions = {},
  ): Promise<Descriptor> {
    return this.#limiter(ref.registry).run(
      () => uploadStreamedBlob(this.#http, ref, source, mediaType, opts),
      opts.signal,
    );
  }

  /**
   * Checks that the client may push to `ref`'s repository, before any work is done (kaniko's
   * check, as go-containerregistry's `CheckPushPermission` makes it): asks for a push-scoped
   * token and starts a blob upload, then cancels that upload. Throws the registry's error
   * (`MOLT_REGISTRY_AUTH` when denied, `MOLT_REGISTRY_UNREACHABLE`, `MOLT_REGISTRY_TLS`, …),
   * naming the operation `check push permission to …`.
   */
  async checkPushPermission(ref: Reference, opts: CallOptions = {}): Promise<void> {
    const name = formatReference({ registry: ref.registry, repository: ref.repository });
    const res = await this.#http.request({
      registry: ref.registry,
      repository: ref.repository,
      method: "POST",
      path: `/v2/${ref.repository}/blobs/uploads/`,
      headers: { "content-length": "0" },
      scopes: [repositoryScope(ref.repository, "pull,push")],
      expect: [202],
      what: `check push permission to ${name}`,
      signal: opts.signal,
    });
    await res.body.dump().catch(() => {});
    const location = res.headers.location;
    const loc = Array.isArray(location) ? location[0] : location;
    if (!loc) return;
    // Cancel the session so it holds nothing on the registry; failing to is harmless.
    await this.#http
      .request({
        registry: ref.registry,
        repository: ref.repository,
        method: "DELETE",
        path: new URL(loc, this.#http.baseUrl(ref.registry, "push")).href,
        scopes: [repositoryScope(ref.repository, "pull,push")],
        expect: [200, 202, 204, 404, 405],
        what: `cancel the permission-check upload to ${name}`,
        retry: false,
        signal: opts.signal,
      })
      .then((r) => r.body.dump().catch(() => {}))
      .catch((e: unknown) => debug("cancelling the check upload failed: %s", (e as Error).message));
  }

  /**
   * Puts a manifest by tag (`ref.tag`) or else by digest (`ref.digest`, checked against the
   * bytes). Returns the manifest's digest; a `Docker-Content-Digest` that disagrees is an error.
   */
  async putManifest(
    ref: Reference,
    bytes: Buffer,
    mediaType: string,
    opts: CallOptions = {},
  ): Promise<Digest> {
    const digest = sha256(bytes);
    if (ref.digest && !ref.tag && ref.digest !== digest)
      throw new DigestMismatchError(ref.digest, digest, "manifest");
    const id = ref.tag ?? ref.digest ?? digest;
    const what = `put manifest ${formatReference(ref)}`;
    const res = await this.#http.request({
      registry: ref.registry,
      repository: ref.repository,
      method: "PUT",
      path: `/v2/${ref.repository}/manifests/${id}`,
      headers: { "content-type": mediaType, "content-length": String(bytes.length) },
      body: bytes,
      scopes: [repositoryScope(ref.repository, "pull,push")],
      expect: [200, 201, 202, 204],
      what,
      signal: opts.signal,
    });
    await res.body.dump().catch(() => {});
    const dcd = res.headers["docker-content-digest"];
    const theirs = Array.isArray(dcd) ? dcd[0] : dcd;
    if (theirs && isDigest(theirs) && theirs.startsWith("sha256:") && theirs !== digest) {
      throw new DigestMismatchError(digest, theirs, `manifest stored at ${formatReference(ref)}`);
    }
    return digest;
  }

  /**
   * Deletes a manifest by digest (`ref.digest`), which removes every tag pointing at it. Returns
   * false when the registry does not allow deletes (405, or `UNSUPPORTED`), true when it is gone.
   */
  async deleteManifest(ref: Reference, opts: CallOptions = {}): Promise<boolean> {
    if (!ref.digest) throw new TypeError("deleteManifest needs a reference by digest");
    const res = await this.#http.request({
      registry: ref.registry,
      repository: ref.repository,
      method: "DELETE",
      path: `/v2/${ref.repository}/manifests/${ref.digest}`,
      scopes: [repositoryScope(ref.repository, "pull,push,delete")],
      expect: [200, 202, 204, 404, 405],
      what: `delete manifest ${formatReference(ref)}`,
      signal: opts.signal,
    });
    await res.body.dump().catch(() => {});
    return res.status !== 405;
  }

  /**
   * Lists a repository's tags (`/v2/<name>/tags/list`), following `Link` pagination.
   *
   * @example
   * ```ts
   * await client.listTags(parseReference("127.0.0.1:5000/team/app")) // ["1.0", "latest"]
   * ```
   */
  async listTags(ref: Reference, opts: CallOptions & { pageSize?: number } = {}): Promise<string[]> {
    const tags: string[] = [];
    let path: string | undefined =
      `/v2/${ref.repository}/tags/list${opts.pageSize ? `?n=${opts.pageSize}` : ""}`;
    const ctx = { registry: ref.registry, repository: ref.repository };
    const what = `list tags of ${formatReference({ registry: ref.registry, repository: ref.repository })}`;
    for (let page = 0; path && page < 10_000; page++) {
      const res = await this.#http.request({
        registry: ref.registry,
        repository: ref.repository,
        method: "GET",
        path,
        scopes: [repositoryScope(ref.repository, "pull")],
        followRedirects: true,
        what,
        signal: opts.signal,
      });
      const body = await readLimited(res.body, 16 * 1024 * 1024, what, ctx);
      let doc: { tags?: unknown };
      try {
        doc = JSON.parse(body.toString("utf8")) as { tags?: unknown };
      } catch {
        throw new RegistryProtocolError(`${what}: the answer is not JSON`, ctx);
      }
      if (Array.isArray(doc.tags)) for (const t of doc.tags) if (typeof t === "string") tags.push(t);
      const link = res.headers.link;
      const next = /<([^>]+)>\s*;\s*rel="?next"?/.exec(Array.isArray(link) ? link.join(",") : (link ?? ""));
      path = next ? new URL(next[1]!, res.url).href : undefined;
    }
    return tags;
  }

  /**
   * Checks that the registry accepts this client's credentials, as `docker login` does: `GET
   * /v2/`, answering its challenge (Basic, or a Bearer token with no scope). Throws
   * {@link RegistryAuthError} when the registry refuses them.
   *
   * @example
   * ```ts
   * await new RegistryClient({ credentials: { "reg.example": { username, password } } }).checkLogin("reg.example");
   * ```
   */
  async checkLogin(registry: string, opts: CallOptions = {}): Promise<void> {
    const res = await this.#http.request({
      registry,
      method: "GET",
      path: "/v2/",
      scopes: [],
      what: `log in to ${registry}`,
      signal: opts.signal,
    });
    res.body.resume();
  }

  /** Closes connection pools. The client must not be used afterwards. */
  async close(): Promise<void> {
    await this.#dispatchers.close();
  }
}
