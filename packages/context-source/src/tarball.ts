import { createReadStream } from "node:fs";
import { mkdir, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve as resolvePath } from "node:path";
import type { Readable } from "node:stream";
import { makeOwnedTempDir, removeOwnedTempDir } from "@molt/oci";
import { openDirectoryContext } from "./directory.js";
import { ContextNotFoundError } from "./errors.js";
import { removeTree } from "./remove-tree.js";
import type { ContextSource, OpenContextOptions } from "./source.js";
import { extractTar } from "./tar-extract.js";

/** Options for sources that unpack a tarball into a private temp dir. */
export type TarContextOptions = OpenContextOptions;

/**
 * Extracts a tar stream into a fresh private temp dir and opens it as a directory context whose
 * `close()` removes the dir. The temp dir is removed as well when extraction fails or is aborted.
 * The temp dir holds the owner file (see `makeOwnedTempDir`) and the context as its `ctx`
 * subdirectory, so the owner file is no part of the context and a later build reclaims the dir
 * when this process was killed.
 */
export async function openExtractedContext(
  input: Readable | (() => Promise<Readable>),
  description: string,
  options: TarContextOptions,
  afterExtract?: () => void | Promise<void>,
): Promise<ContextSource> {
  const tmp = makeOwnedTempDir(options.tmpDir ?? tmpdir(), "molt-context-");
  const cleanup = () => removeOwnedTempDir(tmp, removeTree);
  const root = join(tmp, "ctx");
  try {
    await mkdir(root, { mode: 0o700 });
    const stream = typeof input === "function" ? await input() : input;
    await extractTar(stream, root, {
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
      ...(options.maxExtractedBytes !== undefined ? { maxExtractedBytes: options.maxExtractedBytes } : {}),
      ...(options.maxEntries !== undefined ? { maxEntries: options.maxEntries } : {}),
    });
    await afterExtract?.();
    return await openDirectoryContext(root, { ...options, description, onClose: cleanup });
  } catch (e) {
    await cleanup();
    if (options.signal?.aborted) throw options.signal.reason;
    throw e;
  }
}

/**
 * Opens `tar://<path>` or `tar://stdin` (kaniko's names): a plain, gzip or zstd tarball,
 * detected by content, extracted once into a private temp dir.
 *
 * @example
 * ```ts
 * const ctx = await openContext("tar://stdin", { stdin: process.stdin });
 * ```
 */
export async function openTarContext(path: string, options: TarContextOptions = {}): Promise<ContextSource> {
  if (path === "stdin" || path === "-") {
    return openExtractedContext(options.stdin ?? process.stdin, "tarball from stdin", options);
  }
  const abs = resolvePath(options.cwd ?? process.cwd(), path);
  const st = await stat(abs).catch(() => undefined);
  if (!st?.isFile()) throw new ContextNotFoundError(abs, "context tarball");
  return openExtractedContext(createReadStream(abs), `tarball ${abs}`, options);
}
