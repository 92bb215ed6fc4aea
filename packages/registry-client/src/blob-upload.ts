import { Readable, Transform } from "node:stream";
import { type Descriptor, type Digest, Digester, formatReference, type Reference } from "@molt/oci";
import { repositoryScope } from "./auth/authenticator.js";
import { abandon } from "./body.js";
import { RegistryError, RegistryNotFoundError, RegistryProtocolError } from "./errors.js";
import type { RegistryProgressHandler } from "./progress.js";
import type { RegistryHttp, RegistryResponse } from "./transport/http.js";
import { withRetries } from "./transport/retry.js";

/** Where blob bytes come from: a factory called again for every try. */
export type BlobSource = () => Readable | Buffer | Promise<Readable | Buffer>;

/** Upload settings. */
export interface UploadSettings {
  mode: "monolithic" | "chunked";
  chunkSize: number;
}

/** Options of {@link uploadBlob}. */
export interface UploadOptions {
  mountFrom?: Reference | undefined;
  signal?: AbortSignal | undefined;
  onProgress?: RegistryProgressHandler | undefined;
  /** Override the client's upload settings for this blob. */
  mode?: "monolithic" | "chunked" | undefined;
  chunkSize?: number | undefined;
  /** Upload without the HEAD that asks whether the repository has the blob (a small, usually new blob). */
  skipExistsCheck?: boolean | undefined;
  /**
   * The blob was just made (a layer or config the build wrote), so the repository most likely
   * lacks it: the existence check (HEAD) runs beside the upload's first request instead of
   * before it, saving a round trip; when the blob does exist after all, the upload session is
   * cancelled and the result is still `exists`. Ignored with a cross-repository mount (the HEAD
   * then comes first, so that `exists` and `mounted` keep their meaning).
   */
  likelyNew?: boolean | undefined;
  /**
   * Never upload: when the repository lacks the blob and `mountFrom` cannot provide it, the
   * session is cancelled and a `RegistryNotFoundError` (`BLOB_UNKNOWN`) is thrown.
   */
  mountOnly?: boolean | undefined;
}

const PROGRESS_STEP = 1024 * 1024;

/** A streamed PUT must be sent again (after re-authentication): the upload starts over. */
class RestartUpload extends RegistryError<"MOLT_REGISTRY_ERROR"> {
  constructor(message: string, ctx: { registry: string; repository: string }) {
    super("MOLT_REGISTRY_ERROR", message, { ...ctx, retryable: true });
  }
}

function header(res: RegistryResponse, name: string): string | undefined {
  const v = res.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** The next upload URL from a response's `Location` (relative ones resolved against the request). */
function nextLocation(res: RegistryResponse, what: string, ref: Reference): URL {
  const loc = header(res, "location");
  if (!loc) {
    throw new RegistryProtocolError(`${what}: the registry gave no upload Location`, {
      registry: ref.registry,
      repository: ref.repository,
      status: res.status,
    });
  }
  return new URL(loc, res.url);
}

/** Closes an upload session whose bytes were all sent: an empty PUT naming the digest. */
async function finishUpload(
  http: RegistryHttp,
  ref: Reference,
  location: URL,
  digest: Digest,
  push: string,
  signal: AbortSignal | undefined,
): Promise<void> {
  location.searchParams.set("digest", digest);
  const put = await http.request({
    registry: ref.registry,
    repository: ref.repository,
    method: "PUT",
    path: location.href,
    headers: { "content-length": "0" },
    scopes: [push],
    expect: [201, 204],
    what: `finish upload of ${digest} to ${formatReference({ registry: ref.registry, repository: ref.repository })}`,
    signal,
    retry: false,
  });
  await put.body.dump().catch(() => {});
}

/** Counts bytes going through and reports progress. */
function counter(onBytes: (n: number) => void): Transform {
  return new Transform({
    highWaterMark: 1024 * 1024,
    transform(chunk: Buffer, _enc, cb) {
      onBytes(chunk.length);
      cb(null, chunk);
    },
  });
}

async function asStream(source: Readable | Buffer): Promise<Readable> {
  return Buffer.isBuffer(source) ? Readable.from([source], { objectMode: false }) : source;
}

/** Reads exactly up to `size` bytes from an async iterator of buffers, carrying leftovers. */
class ChunkReader {
  #left: Buffer | undefined;
  readonly #it: AsyncIterator<Buffer>;
  #done = false;
  constructor(stream: Readable) {
    this.#it = stream[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  }
  async next(size: number): Promise<Buffer | undefined> {
    const parts: Buffer[] = [];
    let have = 0;
    while (have < size) {
      let b = this.#left;
      this.#left = undefined;
      if (!b) {
        if (this.#done) break;
        const r = await this.#it.next();
        if (r.done) {
          this.#done = true;
          break;
        }
        b = r.value;
      }
      const take = Math.min(size - have, b.length);
      parts.push(b.subarray(0, take));
      have += take;
      if (take < b.length) this.#left = b.subarray(take);
    }
    return have === 0 ? undefined : Buffer.concat(parts, have);
  }
}

/**
 * Pushes one blob: answers `exists` when the repository has it, `mounted` when a cross-repo
 * mount from `mountFrom` succeeds, else uploads it monolithically (one PUT) or in PATCH chunks
 * with `Content-Range`, honouring `OCI-Chunk-Min-Length`. Failed uploads start over with a
 * fresh session and a fresh source stream.
 */
export async function uploadBlob(
  http: RegistryHttp,
  ref: Reference,
  desc: Descriptor,
  source: BlobSource,
  settings: UploadSettings,
  options: UploadOptions = {},
): Promise<"exists" | "mounted" | "uploaded"> {
  const { signal, onProgress, mountFrom } = options;
  const mode = options.mode ?? settings.mode;
  const chunkSizeWanted = options.chunkSize ?? settings.chunkSize;
  const name = formatReference({ registry: ref.registry, repository: ref.repository });
  const ctx = { registry: ref.registry, repository: ref.repository };
  const push = repositoryScope(ref.repository, "pull,push");
  const done = (result: "exists" | "mounted" | "uploaded") => {
    onProgress?.({
      type: "molt:registry:blob-done",
      direction: "push",
      registry: ref.registry,
      repository: ref.repository,
      digest: desc.digest,
      size: desc.size,
      result,
    });
    return result;
  };

  /** For `mountOnly`: the blob is in neither repository. */
  const notThere = (source: string) =>
    new RegistryNotFoundError(
      `push blob ${desc.digest} to ${name}: ${source} has no such blob to mount, and molt was asked not to upload it`,
      { ...ctx, status: 404, registryCode: "BLOB_UNKNOWN" },
    );
  const checkExists = async (): Promise<boolean> => {
    const head = await http.request({
      registry: ref.registry,
      repository: ref.repository,
      method: "HEAD",
      path: `/v2/${ref.repository}/blobs/${desc.digest}`,
      scopes: [push],
      expect: [200, 404],
      followRedirects: true,
      what: `check blob ${desc.digest} in ${name}`,
      signal,
      onProgress,
    });
    await head.body.dump().catch(() => {});
    return head.status === 200;
  };
  // The check in flight beside the session's first request (likelyNew), until that request is answered.
  let pending: Promise<boolean> | undefined;
  const mountable =
    mountFrom && mountFrom.registry === ref.registry && mountFrom.repository !== ref.repository;
  // Not beside a mount: a mount landing before the HEAD is answered would make it say `exists`.
  if (options.skipExistsCheck && !options.mountOnly) {
    // Asked not to: straight to the upload.
  } else if (options.likelyNew && !mountable && !options.mountOnly) {
    pending = checkExists();
    pending.catch(() => {});
  } else if (await checkExists()) return done("exists");
  /** The HEAD that ran beside `start` (once): true when the blob was there all along. */
  const existedAll = async (): Promise<boolean> => {
    const p = pending;
    pending = undefined;
    return p ? await p : false;
  };
  /** Cancels an upload session that turned out not to be needed; failing to is harmless. */
  const cancel = async (res: RegistryResponse): Promise<void> => {
    const loc = header(res, "location");
    if (!loc) return;
    await http
      .request({
        registry: ref.registry,
        repository: ref.repository,
        method: "DELETE",
        path: new URL(loc, res.url).href,
        scopes: [push],
        expect: [200, 202, 204, 404, 405],
        what: `cancel upload of ${desc.digest} to ${name}`,
        signal,
        retry: false,
      })
      .then((r) => r.body.dump().catch(() => {}))
      .catch(() => {});
  };

  /**
   * The session's first answer, once the HEAD beside it (if any) is in: `exists` when that HEAD
   * found the blob (the session opened is cancelled). A HEAD that failed is the error, as it
   * was when it ran first.
   */
  const started = async (request: Promise<RegistryResponse>): Promise<RegistryResponse | "exists"> => {
    if (!pending) return request;
    const res = await request.catch(async (e: unknown) => {
      if (await existedAll()) return "exists" as const;
      throw e;
    });
    if (res === "exists") return res;
    let existed: boolean;
    try {
      existed = await existedAll();
    } catch (e) {
      await res.body.dump().catch(() => {});
      if (res.status === 202) await cancel(res);
      throw e;
    }
    if (!existed) return res;
    await res.body.dump().catch(() => {});
    if (res.status === 202) await cancel(res);
    return "exists";
  };

  const session = async (): Promise<"exists" | "mounted" | "uploaded"> => {
    let start: RegistryResponse | "exists";
    if (mountable) {
      const q = new URLSearchParams({ mount: desc.digest, from: mountFrom.repository });
      start = await started(
        http.request({
          registry: ref.registry,
          repository: ref.repository,
          method: "POST",
          path: `/v2/${ref.repository}/blobs/uploads/?${q}`,
          headers: { "content-length": "0" },
          scopes: [push, repositoryScope(mountFrom.repository, "pull")],
          expect: [201, 202],
          what: `mount blob ${desc.digest} from ${mountFrom.repository} into ${name}`,
          signal,
          retry: false,
        }),
      );
      if (start === "exists") return done("exists");
      await start.body.dump().catch(() => {});
      if (start.status === 201) return done("mounted");
      if (options.mountOnly) {
        await cancel(start);
        throw notThere(`${mountFrom.registry}/${mountFrom.repository}`);
      }
    } else if (options.mountOnly) {
      throw notThere(name);
    } else {
      start = await started(
        http.request({
          registry: ref.registry,
          repository: ref.repository,
          method: "POST",
          path: `/v2/${ref.repository}/blobs/uploads/`,
          headers: { "content-length": "0" },
          scopes: [push],
          expect: [202],
          what: `start upload of ${desc.digest} to ${name}`,
          signal,
          retry: false,
        }),
      );
      if (start === "exists") return done("exists");
      await start.body.dump().catch(() => {});
    }
    let location = nextLocation(start, `start upload of ${desc.digest} to ${name}`, ref);
    const minChunk = Number(header(start, "oci-chunk-min-length") ?? 0) || 0;

    let transferred = 0;
    let reported = 0;
    const progress = (n: number) => {
      transferred += n;
      if (onProgress && (transferred - reported >= PROGRESS_STEP || transferred === desc.size)) {
        reported = transferred;
        onProgress({
          type: "molt:registry:blob-progress",
          direction: "push",
          registry: ref.registry,
          repository: ref.repository,
          digest: desc.digest,
          transferred,
          total: desc.size,
        });
      }
    };
    const src = await source();
    if (Buffer.isBuffer(src) && src.length !== desc.size) {
      throw new RegistryProtocolError(
        `push blob ${desc.digest} to ${name}: source has ${src.length} bytes, descriptor says ${desc.size}`,
        ctx,
      );
    }

    if (mode === "monolithic") {
      const url = new URL(location);
      url.searchParams.set("digest", desc.digest);
      const body = Buffer.isBuffer(src) ? src : src.pipe(counter(progress));
      // A source that fails mid-way (a check on the bytes refusing them) fails the PUT at once;
      // pipe() alone would leave the body waiting for the bytes still owed.
      let failed: Error | undefined;
      if (!Buffer.isBuffer(src))
        src.once("error", (e) => {
          failed = e;
          (body as Readable).destroy(e);
        });
      let sent = false;
      const put = await http
        .request({
          registry: ref.registry,
          repository: ref.repository,
          method: "PUT",
          path: url.href,
          headers: { "content-type": "application/octet-stream", "content-length": String(desc.size) },
          body: () => {
            // A stream can be sent once; a second send (after re-authentication) restarts the
            // whole upload with a fresh source instead.
            if (sent && !Buffer.isBuffer(body)) {
              throw new RestartUpload(
                `upload ${desc.digest} to ${name}: restarting after re-authentication`,
                ctx,
              );
            }
            sent = true;
            return body;
          },
          scopes: [push],
          expect: [201, 204],
          what: `upload blob ${desc.digest} to ${name}`,
          signal,
          retry: false,
        })
        .catch((e) => {
          if (!Buffer.isBuffer(src)) abandon(src);
          throw failed ?? e;
        });
      await put.body.dump().catch(() => {});
      if (Buffer.isBuffer(src)) progress(src.length);
      return done("uploaded");
    }

    const chunkSize = Math.max(chunkSizeWanted, minChunk);
    const reader = new ChunkReader(await asStream(src));
    let offset = 0;
    try {
      for (;;) {
        const chunk = await reader.next(chunkSize);
        if (!chunk) break;
        const patch = await http.request({
          registry: ref.registry,
          repository: ref.repository,
          method: "PATCH",
          path: location.href,
          headers: {
            "content-type": "application/octet-stream",
            "content-length": String(chunk.length),
            "content-range": `${offset}-${offset + chunk.length - 1}`,
          },
          body: chunk,
          scopes: [push],
          expect: [202],
          what: `upload chunk of ${desc.digest} to ${name}`,
          signal,
          retry: false,
        });
        await patch.body.dump().catch(() => {});
        location = nextLocation(patch, `upload chunk of ${desc.digest} to ${name}`, ref);
        offset += chunk.length;
        progress(chunk.length);
      }
    } finally {
      if (!Buffer.isBuffer(src)) abandon(src);
    }
    await finishUpload(http, ref, new URL(location), desc.digest, push, signal);
    return done("uploaded");
  };
  let restarted = false;
  return withRetries(
    http.policy,
    signal,
    (attempt, delayMs, error) =>
      onProgress?.({
        type: "molt:registry:retry",
        registry: ref.registry,
        attempt,
        delayMs,
        reason: error.message,
      }),
    async () => {
      try {
        return await session();
      } catch (e) {
        // Re-authentication in the middle of a streamed PUT: start over once, outside the retry budget.
        if (e instanceof RestartUpload && !restarted) {
          restarted = true;
          return session();
        }
        throw e;
      }
    },
  );
}

/**
 * Uploads a blob whose digest is only known once all bytes went through: one streamed PATCH
 * while hashing, then the closing PUT with the computed digest. Returns its descriptor.
 */
export async function uploadStreamedBlob(
  http: RegistryHttp,
  ref: Reference,
  source: () => Readable | Promise<Readable>,
  mediaType: string,
  options: { signal?: AbortSignal | undefined; onProgress?: RegistryProgressHandler | undefined } = {},
): Promise<Descriptor> {
  const { signal } = options;
  const name = formatReference({ registry: ref.registry, repository: ref.repository });
  const push = repositoryScope(ref.repository, "pull,push");
  return withRetries(
    http.policy,
    signal,
    () => {},
    async () => {
      const start = await http.request({
        registry: ref.registry,
        repository: ref.repository,
        method: "POST",
        path: `/v2/${ref.repository}/blobs/uploads/`,
        headers: { "content-length": "0" },
        scopes: [push],
        expect: [202],
        what: `start upload to ${name}`,
        signal,
        retry: false,
      });
      await start.body.dump().catch(() => {});
      const location = nextLocation(start, `start upload to ${name}`, ref);
      const digester = new Digester("sha256");
      const src = await source();
      const hashing = src.pipe(
        new Transform({
          highWaterMark: 1024 * 1024,
          transform(chunk: Buffer, _e, cb) {
            digester.update(chunk);
            cb(null, chunk);
          },
        }),
      );
      const patch = await http.request({
        registry: ref.registry,
        repository: ref.repository,
        method: "PATCH",
        path: location.href,
        headers: { "content-type": "application/octet-stream" },
        body: () => hashing,
        scopes: [push],
        expect: [202],
        what: `stream blob to ${name}`,
        signal,
        retry: false,
      });
      await patch.body.dump().catch(() => {});
      const size = digester.size;
      const digest: Digest = digester.digest();
      await finishUpload(http, ref, nextLocation(patch, `stream blob to ${name}`, ref), digest, push, signal);
      options.onProgress?.({
        type: "molt:registry:blob-done",
        direction: "push",
        registry: ref.registry,
        repository: ref.repository,
        digest,
        size,
        result: "uploaded",
      });
      return { mediaType, digest, size };
    },
  );
}
