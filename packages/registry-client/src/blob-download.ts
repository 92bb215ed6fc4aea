import { createHash } from "node:crypto";
import { Readable, Writable } from "node:stream";
import { setTimeout as sleep } from "node:timers/promises";
import {
  BlobSizeMismatchError,
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
import type { RegistryHttp } from "./transport/http.js";
import { backoffDelay } from "./transport/retry.js";

/** Progress is reported at most every this many bytes (and at the end). */
const PROGRESS_STEP = 1024 * 1024;

/** Options of {@link downloadBlob}. */
export interface DownloadOptions {
  signal?: AbortSignal | undefined;
  onProgress?: RegistryProgressHandler | undefined;
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
 * Opens a blob for reading. Resolves once the registry (or the storage it redirects to,
 * reached without credentials) starts answering; the returned stream yields the blob's bytes,
 * resumes with a `Range` request when the connection drops mid-way, and fails at the end with
 * {@link DigestMismatchError} when the bytes do not hash to the descriptor's digest (or their
 * count differs from its size). Destroying the stream cancels the download.
 */
export function downloadBlob(
  http: RegistryHttp,
  ref: Reference,
  desc: Descriptor,
  options: DownloadOptions = {},
): Promise<Readable> {
  const { onProgress } = options;
  const what = `get blob ${desc.digest} of ${formatReference(ref)}`;
  const ctx = { registry: ref.registry, repository: ref.repository };
  const name = `blob of ${formatReference(ref)}`;
  const cancel = new AbortController();
  const signal = options.signal ? AbortSignal.any([cancel.signal, options.signal]) : cancel.signal;
  const hasher = hasherFor(desc.digest);
  let transferred = 0;
  let reported = 0;
  let waiting: (() => void) | undefined;

  const out = new Readable({
    highWaterMark: 1024 * 1024,
    read() {
      const go = waiting;
      waiting = undefined;
      go?.();
    },
    destroy(err, cb) {
      cancel.abort();
      cb(err);
    },
  });

  const report = (force: boolean) => {
    if (!onProgress || (!force && transferred - reported < PROGRESS_STEP)) return;
    reported = transferred;
    onProgress({
      type: "molt:registry:blob-progress",
      direction: "pull",
      registry: ref.registry,
      repository: ref.repository,
      digest: desc.digest,
      transferred,
      total: desc.size,
    });
  };

  /** The writable one response's body goes into; `skip` bytes are dropped (a server that ignored Range). */
  const sink = (skip: number) => {
    let toSkip = skip;
    return new Writable({
      highWaterMark: 1024 * 1024,
      write(chunk: Buffer, _e, cb) {
        let b = chunk;
        if (toSkip > 0) {
          const n = Math.min(toSkip, b.length);
          toSkip -= n;
          b = b.subarray(n);
          if (b.length === 0) return cb();
        }
        if (transferred + b.length > desc.size) {
          cb(new BlobSizeMismatchError(name, desc.digest, desc.size, transferred + b.length));
          return;
        }
        hasher.update(b);
        transferred += b.length;
        report(false);
        if (out.push(b)) cb();
        else waiting = () => cb();
      },
    });
  };

  return new Promise<Readable>((resolve, reject) => {
    let started = false;
    const run = async () => {
      let resumes = 0;
      for (;;) {
        const from = transferred;
        try {
          await http.stream(
            {
              registry: ref.registry,
              repository: ref.repository,
              method: "GET",
              path: `/v2/${ref.repository}/blobs/${desc.digest}`,
              headers: from > 0 ? { range: `bytes=${from}-` } : {},
              scopes: [repositoryScope(ref.repository, "pull")],
              followRedirects: true,
              expect: from > 0 ? [200, 206] : [200],
              what,
              signal,
              onProgress,
            },
            (res) => {
              if (!started) {
                started = true;
                resolve(out);
              }
              return sink(from > 0 && res.status === 200 ? from : 0);
            },
          );
          break;
        } catch (e) {
          if (!started) throw e;
          if (cancel.signal.aborted) return;
          if (options.signal?.aborted) throw options.signal.reason;
          const mapped = connectionError(e, ctx, ref.registry, { what, idleMs: http.timeouts.idleMs });
          const resumable =
            mapped instanceof RegistryError &&
            mapped.retryable &&
            resumes < http.policy.retries &&
            transferred < desc.size;
          if (!resumable) throw mapped;
          resumes++;
          await sleep(backoffDelay(http.policy, resumes), undefined, { signal });
        }
      }
      if (transferred !== desc.size) {
        throw new BlobSizeMismatchError(name, desc.digest, desc.size, transferred);
      }
      const actual = hasher.digest();
      if (actual !== desc.digest) throw new DigestMismatchError(desc.digest, actual, name);
      report(true);
      onProgress?.({
        type: "molt:registry:blob-done",
        direction: "pull",
        registry: ref.registry,
        repository: ref.repository,
        digest: desc.digest,
        size: desc.size,
        result: "downloaded",
      });
      out.push(null);
    };
    run().catch((e: unknown) => {
      if (!started) reject(e);
      else if (!out.destroyed) out.destroy(e as Error);
    });
  });
}

/** Reads a small blob (a config) fully, checking size limit and digest. */
export async function readBlob(
  http: RegistryHttp,
  ref: Reference,
  desc: Descriptor,
  limit: number,
  signal?: AbortSignal,
  onProgress?: RegistryProgressHandler,
): Promise<Buffer> {
  if (desc.size > limit) {
    throw new RegistryProtocolError(
      `blob ${desc.digest} of ${formatReference(ref)} is larger than the ${limit}-byte limit`,
      { registry: ref.registry, repository: ref.repository },
    );
  }
  const stream = await downloadBlob(http, ref, desc, onProgress ? { signal, onProgress } : { signal });
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}
