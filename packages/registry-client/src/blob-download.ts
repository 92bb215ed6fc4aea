import { createHash } from "node:crypto";
import { Readable } from "node:stream";
import { setTimeout as sleep } from "node:timers/promises";
import {
  type Descriptor,
  type Digest,
  Digester,
  DigestMismatchError,
  formatReference,
  type Reference,
  splitDigest,
} from "@molt/oci";
import { repositoryScope } from "./auth/authenticator.js";
import { RegistryError, RegistryProtocolError } from "./errors.js";
import type { RegistryProgressHandler } from "./progress.js";
import { connectionError } from "./transport/failures.js";
import type { RegistryHttp, RegistryResponse } from "./transport/http.js";
import { backoffDelay } from "./transport/retry.js";

/** Progress is reported at most every this many bytes (and at the end). */
const PROGRESS_STEP = 1024 * 1024;

/** Options of {@link downloadBlob}. */
export interface DownloadOptions {
  signal?: AbortSignal | undefined;
  onProgress?: RegistryProgressHandler | undefined;
}

function blobPath(ref: Reference, digest: Digest): string {
  return `/v2/${ref.repository}/blobs/${digest}`;
}

/** A hasher for the digest's algorithm. */
function hasherFor(digest: Digest): { update(b: Uint8Array): void; digest(): Digest } {
  const { algorithm } = splitDigest(digest);
  if (algorithm === "sha256") return new Digester("sha256");
  const h = createHash(algorithm);
  return {
    update: (b) => h.update(b),
    digest: () => `${algorithm}:${h.digest("hex")}` as Digest,
  };
}

/**
 * Opens a blob for reading. The returned stream yields the blob's bytes, follows redirects to
 * storage on other hosts without credentials, resumes with a `Range` request when the
 * connection drops mid-way, and fails at the end with {@link DigestMismatchError} when the
 * bytes do not hash to the descriptor's digest (or their count differs from its size).
 */
export async function downloadBlob(
  http: RegistryHttp,
  ref: Reference,
  desc: Descriptor,
  options: DownloadOptions = {},
): Promise<Readable> {
  const { signal, onProgress } = options;
  const what = `get blob ${desc.digest} of ${formatReference(ref)}`;
  const ctx = { registry: ref.registry, repository: ref.repository };
  const open = (from: number): Promise<RegistryResponse> =>
    http.request({
      registry: ref.registry,
      repository: ref.repository,
      method: "GET",
      path: blobPath(ref, desc.digest),
      headers: from > 0 ? { range: `bytes=${from}-` } : {},
      scopes: [repositoryScope(ref.repository, "pull")],
      followRedirects: true,
      expect: from > 0 ? [200, 206] : [200],
      what,
      signal,
      onProgress,
    });
  const first = await open(0);

  async function* bytes(): AsyncGenerator<Buffer> {
    let res = first;
    const hasher = hasherFor(desc.digest);
    let transferred = 0;
    let reported = 0;
    let resumes = 0;
    const report = (force: boolean) => {
      if (!onProgress || (!force && transferred - reported < PROGRESS_STEP)) return;
      reported = transferred;
      onProgress({
        type: "registry:blob:progress",
        direction: "pull",
        registry: ref.registry,
        repository: ref.repository,
        digest: desc.digest,
        transferred,
        total: desc.size,
      });
    };
    try {
      for (;;) {
        try {
          for await (const chunk of res.body) {
            const b = chunk as Buffer;
            if (transferred + b.length > desc.size) {
              throw new DigestMismatchError(
                desc.digest,
                "(more bytes than the descriptor's size)",
                `blob of ${formatReference(ref)}`,
              );
            }
            hasher.update(b);
            transferred += b.length;
            report(false);
            yield b;
          }
          break;
        } catch (e) {
          signal?.throwIfAborted();
          const mapped =
            e instanceof RegistryError || e instanceof DigestMismatchError
              ? e
              : connectionError(e, ctx, ref.registry);
          const canResume =
            mapped instanceof RegistryError &&
            mapped.retryable &&
            resumes < http.policy.retries &&
            transferred < desc.size;
          if (!canResume) throw mapped;
          resumes++;
          res.body.destroy();
          await sleep(backoffDelay(http.policy, resumes), undefined, signal ? { signal } : undefined);
          res = await open(transferred);
          if (res.status === 200 && transferred > 0) {
            // The server ignored Range: skip what we already have.
            res = { ...res, body: skipBytes(res.body, transferred) as RegistryResponse["body"] };
          }
        }
      }
      if (transferred !== desc.size) {
        throw new DigestMismatchError(
          desc.digest,
          `(${transferred} bytes instead of ${desc.size})`,
          `blob of ${formatReference(ref)}`,
        );
      }
      const actual = hasher.digest();
      if (actual !== desc.digest)
        throw new DigestMismatchError(desc.digest, actual, `blob of ${formatReference(ref)}`);
      report(true);
      onProgress?.({
        type: "registry:blob:done",
        direction: "pull",
        registry: ref.registry,
        repository: ref.repository,
        digest: desc.digest,
        size: desc.size,
        result: "downloaded",
      });
    } finally {
      if (!res.body.destroyed) res.body.destroy();
    }
  }
  return Readable.from(bytes(), { objectMode: false, highWaterMark: 1024 * 1024 });
}

/** Drops the first `n` bytes of a stream. */
function skipBytes(body: Readable, n: number): Readable {
  let left = n;
  async function* gen() {
    for await (const c of body) {
      const b = c as Buffer;
      if (left >= b.length) {
        left -= b.length;
        continue;
      }
      yield left > 0 ? b.subarray(left) : b;
      left = 0;
    }
  }
  return Readable.from(gen(), { objectMode: false });
}

/** Reads a small blob (a config) fully, checking size limit and digest. */
export async function readBlob(
  http: RegistryHttp,
  ref: Reference,
  desc: Descriptor,
  limit: number,
  signal?: AbortSignal,
): Promise<Buffer> {
  if (desc.size > limit) {
    throw new RegistryProtocolError(
      `blob ${desc.digest} of ${formatReference(ref)} is larger than the ${limit}-byte limit`,
      {
        registry: ref.registry,
        repository: ref.repository,
      },
    );
  }
  const stream = await downloadBlob(http, ref, desc, { signal });
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}
