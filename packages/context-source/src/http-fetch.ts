import { createHash, type Hash } from "node:crypto";
import { createWriteStream } from "node:fs";
import { type Readable, Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { Dispatcher } from "undici";
import { ContextFetchError, ContextTooLargeError } from "./errors.js";
import type { ContextProgressEvent } from "./source.js";

/** Options of {@link downloadToFile} and `fetchText`. */
export interface FetchOptions {
  signal?: AbortSignal;
  /** Receives the download's progress (bytes so far). */
  onProgress?: (e: ContextProgressEvent) => void;
  /** Refuse bodies larger than this many bytes. */
  maxBytes?: number;
  /** Extra trusted CA certificates (PEM) in addition to Node's bundle; TLS is always verified. */
  ca?: string | Buffer | readonly (string | Buffer)[];
  /** Follow at most this many redirects (default 10). An https → http redirect is refused. */
  maxRedirects?: number;
  /** A dispatcher to use instead of the built-in one (then `ca` is ignored). */
  dispatcher?: Dispatcher;
}

const DEFAULT_MAX = 2 * 1024 ** 3;

/**
 * Opens a GET of `url` with redirects followed (never https → http), TLS verified (plus `ca`),
 * failing on non-200 answers and on a `content-length` above `maxBytes`.
 */
export async function openHttp(
  url: string,
  options: FetchOptions,
): Promise<{ body: Readable; total?: number; url: string }> {
  // undici is loaded on the first download only: most builds fetch nothing over HTTP.
  const { Agent, request } = await import("undici");
  const ownAgent =
    options.dispatcher === undefined && options.ca !== undefined
      ? new Agent({ connect: { ca: options.ca as string | Buffer | (string | Buffer)[] } })
      : undefined;
  const dispatcher = options.dispatcher ?? ownAgent;
  let current = url;
  try {
    for (let hop = 0; ; hop++) {
      let res: Dispatcher.ResponseData;
      try {
        res = await request(current, {
          method: "GET",
          ...(dispatcher ? { dispatcher } : {}),
          ...(options.signal ? { signal: options.signal } : {}),
          headers: { "user-agent": "molt" },
        });
      } catch (e) {
        if (options.signal?.aborted) throw options.signal.reason;
        throw new ContextFetchError(current, (e as Error).message, { cause: e });
      }
      if (res.statusCode >= 300 && res.statusCode < 400 && res.headers.location) {
        void res.body.dump().catch(() => {});
        if (hop >= (options.maxRedirects ?? 10)) throw new ContextFetchError(url, "too many redirects");
        const next = new URL(String(res.headers.location), current);
        if (new URL(current).protocol === "https:" && next.protocol !== "https:") {
          throw new ContextFetchError(current, `refusing redirect from https to ${next.protocol}`);
        }
        current = next.href;
        continue;
      }
      if (res.statusCode !== 200) {
        void res.body.dump().catch(() => {});
        throw new ContextFetchError(current, `HTTP ${res.statusCode}`, { status: res.statusCode });
      }
      const len = Number(res.headers["content-length"]);
      const max = options.maxBytes ?? DEFAULT_MAX;
      if (Number.isFinite(len) && len > max) {
        void res.body.dump().catch(() => {});
        throw new ContextTooLargeError(current, max);
      }
      const body = res.body as unknown as Readable;
      if (ownAgent) body.once("close", () => void ownAgent.close());
      return { body, ...(Number.isFinite(len) ? { total: len } : {}), url: current };
    }
  } catch (e) {
    await ownAgent?.close();
    throw e;
  }
}

/** A pass-through that counts bytes, fails beyond `max`, and feeds an optional hash. */
export function limiter(url: string, max: number, onBytes: (n: number) => void, hash?: Hash): Transform {
  let n = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      n += chunk.length;
      if (n > max) return cb(new ContextTooLargeError(url, max));
      hash?.update(chunk);
      onBytes(n);
      cb(null, chunk);
    },
  });
}

/** The default download limit: 2 GiB. */
export const DEFAULT_MAX_DOWNLOAD = DEFAULT_MAX;

/**
 * Downloads a URL into a file (redirects followed, TLS verified, size limited), returning the
 * byte count and the `sha256:` digest of what was written.
 */
export async function downloadToFile(
  url: string,
  file: string,
  options: FetchOptions = {},
): Promise<{ bytes: number; digest: string }> {
  const { body, total, url: finalUrl } = await openHttp(url, options);
  const hash = createHash("sha256");
  let bytes = 0;
  const max = options.maxBytes ?? DEFAULT_MAX;
  await pipeline(
    body,
    limiter(finalUrl, max, (n) => {
      bytes = n;
      options.onProgress?.({
        type: "molt:context:download",
        url,
        bytes: n,
        ...(total !== undefined ? { total } : {}),
      });
    }),
    new Transform({
      transform(chunk: Buffer, _e, cb) {
        hash.update(chunk);
        cb(null, chunk);
      },
    }),
    createWriteStream(file),
    ...(options.signal ? [{ signal: options.signal }] : []),
  );
  return { bytes, digest: `sha256:${hash.digest("hex")}` };
}

/** Fetches a (small) text document, e.g. a Dockerfile URL; default limit 10 MiB. */
export async function fetchText(url: string, options: FetchOptions = {}): Promise<string> {
  const max = options.maxBytes ?? 10 * 1024 ** 2;
  const { body, url: finalUrl } = await openHttp(url, { ...options, maxBytes: max });
  const chunks: Buffer[] = [];
  await pipeline(
    body,
    limiter(finalUrl, max, () => {}),
    async (source: AsyncIterable<Buffer>) => {
      for await (const c of source) chunks.push(c);
    },
  );
  return Buffer.concat(chunks).toString("utf8");
}
