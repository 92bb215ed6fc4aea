import { pipeline } from "node:stream";
import { ChecksumTap } from "./checksum.js";
import { DEFAULT_MAX_DOWNLOAD, limiter, openHttp } from "./http-fetch.js";
import type { ContextSource, OpenContextOptions } from "./source.js";
import { openExtractedContext } from "./tarball.js";

/**
 * Opens an `https://` (or `http://`) URL of a plain, gzip or zstd tarball: streamed through
 * undici (TLS verified, extra CAs via `ca`, redirects followed but never from https to http,
 * `maxBytes` enforced), extracted while it downloads into a private temp dir, and checked
 * against `checksum` (`sha256:<hex>`) when given — a mismatch removes everything and throws
 * `DigestMismatchError`.
 *
 * @example
 * ```ts
 * const ctx = await openContext("https://example.com/ctx.tar.gz", { checksum: "sha256:…" });
 * ```
 */
export async function openHttpsContext(
  spec: string,
  options: OpenContextOptions = {},
): Promise<ContextSource> {
  const url = spec.replace(/#.*$/, "");
  const tap = new ChecksumTap(options.checksum, `context ${url}`);
  const max = options.maxBytes ?? DEFAULT_MAX_DOWNLOAD;
  return openExtractedContext(
    async () => {
      const {
        body,
        total,
        url: finalUrl,
      } = await openHttp(url, {
        maxBytes: max,
        ...(options.signal ? { signal: options.signal } : {}),
        ...(options.ca ? { ca: options.ca } : {}),
      });
      const counted = limiter(
        finalUrl,
        max,
        (bytes) =>
          options.onProgress?.({
            type: "molt:context:download",
            url,
            bytes,
            ...(total !== undefined ? { total } : {}),
          }),
        tap.hash,
      );
      return pipeline(body, counted, () => {});
    },
    `https tarball ${url}`,
    options,
    () => void tap.verify(),
  );
}
