import { PassThrough, Readable } from "node:stream";
import createDebug from "debug";
import { ChecksumTap } from "./checksum.js";
import { ContextFetchError, ContextNotFoundError, ContextTooLargeError } from "./errors.js";
import { DEFAULT_MAX_DOWNLOAD, limiter } from "./http-fetch.js";
import type { ContextSource, OpenContextOptions } from "./source.js";
import { openExtractedContext } from "./tarball.js";

const debug = createDebug("molt:context");

/** Splits `s3://bucket/path/to/ctx.tar.gz` into bucket and key. */
export function parseS3Url(spec: string): { bucket: string; key: string } {
  const rest = spec.replace(/^s3:\/\//i, "");
  const slash = rest.indexOf("/");
  const bucket = slash < 0 ? rest : rest.slice(0, slash);
  const key = slash < 0 ? "" : rest.slice(slash + 1);
  if (bucket === "") throw new ContextNotFoundError(spec, "S3 bucket");
  if (key === "") throw new ContextNotFoundError(spec, "S3 object key (s3://BUCKET/KEY)");
  return { bucket, key };
}

function statusOf(e: unknown): number | undefined {
  const s = (e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  return typeof s === "number" ? s : undefined;
}

/**
 * Opens `s3://bucket/key.tar.gz` (kaniko's S3 context) through the AWS SDK's S3 client, which
 * is imported only here, so builds that never name s3:// never load it. Credentials and region
 * come from the SDK's default chain (`AWS_ACCESS_KEY_ID`…, `AWS_PROFILE`, instance roles;
 * `AWS_REGION`, else `us-east-1`); kaniko's `S3_ENDPOINT` and `S3_FORCE_PATH_STYLE` (or the
 * `s3Endpoint` option) point it at an S3-compatible store. The object's size and ETag are read
 * first (`HeadObject`, size checked against `maxBytes`), then exactly that version is streamed
 * (`GetObject` with `If-Match`; the SDK validates the object's checksum when the store sends
 * one) and extracted into a private temp dir; `checksum` (`sha256:<hex>`) is checked when given.
 *
 * @example
 * ```ts
 * const ctx = await openContext("s3://my-bucket/builds/ctx.tar.gz");
 * ```
 */
export async function openS3Context(spec: string, options: OpenContextOptions = {}): Promise<ContextSource> {
  const { bucket, key } = parseS3Url(spec);
  const url = `s3://${bucket}/${key}`;
  const { S3Client, HeadObjectCommand, GetObjectCommand } = await import("@aws-sdk/client-s3");
  const endpoint = options.s3Endpoint ?? process.env.S3_ENDPOINT;
  const client = new S3Client({
    region: process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? "us-east-1",
    ...(endpoint ? { endpoint } : {}),
    forcePathStyle: endpoint !== undefined || process.env.S3_FORCE_PATH_STYLE === "true",
    maxAttempts: (options.retries ?? 3) + 1,
  });
  const wrap = (e: unknown) => {
    const status = statusOf(e);
    if (status === 404) return new ContextNotFoundError(url, "context object", { cause: e });
    return new ContextFetchError(url, (e as Error).message || (e as Error).name, {
      cause: e,
      ...(status ? { status } : {}),
    });
  };
  const signal = options.signal;
  let size: number;
  let etag: string | undefined;
  try {
    const head = await client.send(
      new HeadObjectCommand({ Bucket: bucket, Key: key }),
      signal ? { abortSignal: signal } : {},
    );
    size = Number(head.ContentLength ?? 0);
    etag = head.ETag;
  } catch (e) {
    client.destroy();
    throw wrap(e);
  }
  debug("s3 %s: %d bytes, etag %s", url, size, etag);
  const max = options.maxBytes ?? DEFAULT_MAX_DOWNLOAD;
  if (size > max) {
    client.destroy();
    throw new ContextTooLargeError(url, max);
  }
  const tap = new ChecksumTap(options.checksum, `context ${url}`);
  let downloaded: Promise<void> = Promise.resolve();
  try {
    return await openExtractedContext(
      async () => {
        let body: Readable;
        try {
          const got = await client.send(
            new GetObjectCommand({ Bucket: bucket, Key: key, ...(etag ? { IfMatch: etag } : {}) }),
            signal ? { abortSignal: signal } : {},
          );
          body =
            got.Body instanceof Readable ? got.Body : Readable.from(got.Body as AsyncIterable<Uint8Array>);
        } catch (e) {
          throw wrap(e);
        }
        const out = new PassThrough();
        const counted = limiter(
          url,
          max,
          (bytes) => options.onProgress?.({ type: "molt:context:download", url, bytes, total: size }),
          tap.hash,
        );
        downloaded = new Promise<void>((resolve, reject) => {
          body.on("end", resolve);
          body.on("error", (e) => reject(wrap(e)));
        });
        downloaded.catch(() => {});
        out.on("error", () => {});
        body.on("error", (e) => out.destroy(wrap(e)));
        counted.on("error", (e) => out.destroy(e));
        out.on("close", () => body.destroy());
        body.pipe(counted).pipe(out);
        return out;
      },
      `s3 object ${url}`,
      options,
      async () => {
        await downloaded;
        tap.verify();
      },
    );
  } finally {
    client.destroy();
  }
}
