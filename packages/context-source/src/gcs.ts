import { PassThrough } from "node:stream";
import createDebug from "debug";
import { ChecksumTap } from "./checksum.js";
import { ContextFetchError, ContextNotFoundError, ContextTooLargeError } from "./errors.js";
import { DEFAULT_MAX_DOWNLOAD, limiter } from "./http-fetch.js";
import type { ContextSource, OpenContextOptions } from "./source.js";
import { openExtractedContext } from "./tarball.js";

const debug = createDebug("molt:context");

/** The object kaniko reads when a `gs://` URL names only a bucket. */
export const DEFAULT_GCS_OBJECT = "context.tar.gz";

/** Splits `gs://bucket/path/to/ctx.tar.gz` into bucket and object name (kaniko's rules). */
export function parseGsUrl(spec: string): { bucket: string; object: string } {
  const rest = spec.replace(/^gs:\/\//i, "");
  const slash = rest.indexOf("/");
  const bucket = slash < 0 ? rest : rest.slice(0, slash);
  const object = slash < 0 ? "" : rest.slice(slash + 1);
  if (bucket === "") throw new ContextNotFoundError(spec, "GCS bucket");
  return { bucket, object: object === "" ? DEFAULT_GCS_OBJECT : object };
}

function errorCode(e: unknown): number | undefined {
  const code = (e as { code?: unknown }).code;
  return typeof code === "number" ? code : undefined;
}

/**
 * Opens `gs://bucket/path/context.tar.gz` (kaniko's layout; `gs://bucket` alone means
 * `context.tar.gz`) through `@google-cloud/storage` with Application Default Credentials.
 * `STORAGE_EMULATOR_HOST` or the `apiEndpoint` option point it elsewhere (then, as the library
 * does, no credentials are sent). The object's metadata is read first (size checked against
 * `maxBytes`), then that exact generation is streamed, CRC32C-validated by the library, and
 * extracted into a private temp dir; `checksum` (`sha256:<hex>`) is checked too when given.
 *
 * @example
 * ```ts
 * const ctx = await openContext("gs://my-bucket/builds/ctx.tar.gz");
 * ```
 */
export async function openGcsContext(spec: string, options: OpenContextOptions = {}): Promise<ContextSource> {
  const { bucket, object } = parseGsUrl(spec);
  const url = `gs://${bucket}/${object}`;
  const { Storage } = await import("@google-cloud/storage");
  const storage = new Storage({
    ...(options.apiEndpoint ? { apiEndpoint: options.apiEndpoint } : {}),
    retryOptions: {
      autoRetry: (options.retries ?? 3) > 0,
      maxRetries: options.retries ?? 3,
      maxRetryDelay: 16,
    },
  });
  const file = storage.bucket(bucket).file(object);
  let size: number;
  let generation: string | undefined;
  try {
    const [meta] = await file.getMetadata();
    size = Number(meta.size ?? 0);
    generation = meta.generation === undefined ? undefined : String(meta.generation);
  } catch (e) {
    if (errorCode(e) === 404) throw new ContextNotFoundError(url, "context object", { cause: e });
    throw new ContextFetchError(url, (e as Error).message, {
      cause: e,
      ...(errorCode(e) ? { status: errorCode(e) } : {}),
    });
  }
  debug("gcs %s: %d bytes, generation %s", url, size, generation);
  const max = options.maxBytes ?? DEFAULT_MAX_DOWNLOAD;
  if (size > max) throw new ContextTooLargeError(url, max);
  const tap = new ChecksumTap(options.checksum, `context ${url}`);
  // The library validates CRC32C when the download ends, which can be after the tar is complete:
  // the context is only accepted once the download itself has finished cleanly.
  let downloaded: Promise<void> = Promise.resolve();
  return openExtractedContext(
    async () => {
      const pinned = storage.bucket(bucket).file(object, generation ? { generation } : {});
      const source = pinned.createReadStream({ validation: "crc32c" });
      const out = new PassThrough();
      const counted = limiter(
        url,
        max,
        (bytes) => options.onProgress?.({ type: "molt:context:download", url, bytes, total: size }),
        tap.hash,
      );
      const wrapError = (e: Error) =>
        errorCode(e) === 404
          ? new ContextNotFoundError(url, "context object", { cause: e })
          : new ContextFetchError(url, e.message, { cause: e });
      downloaded = new Promise<void>((resolve, reject) => {
        source.on("end", resolve);
        source.on("error", (e) => reject(wrapError(e)));
      });
      downloaded.catch(() => {});
      out.on("error", () => {}); // reported through the extraction or `downloaded`
      source.on("error", (e) => out.destroy(wrapError(e)));
      counted.on("error", (e) => out.destroy(e));
      out.on("close", () => source.destroy());
      source.pipe(counted).pipe(out);
      return out;
    },
    `gcs object ${url}`,
    options,
    async () => {
      await downloaded;
      tap.verify();
    },
  );
}
