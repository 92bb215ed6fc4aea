import { createWriteStream } from "node:fs";
import { chmod, lchown, link, lstat, lutimes, mkdir, open, rm, symlink, utimes } from "node:fs/promises";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { MoltError } from "@molt/oci";
import createDebug from "debug";
import { extract as tarExtract } from "tar-stream";
import { decompressTar, type TarCompression } from "./decompress.js";
import { ContextArchiveError, ContextEscapeError, ContextTooLargeError } from "./errors.js";
import { cleanContextPath } from "./paths.js";
import type { ContextProgressEvent } from "./source.js";

const debug = createDebug("molt:context");

/** Limits and hooks of {@link extractTar}. */
export interface ExtractTarOptions {
  signal?: AbortSignal;
  /** Receives the extraction's progress (entries and bytes so far). */
  onProgress?: (e: ContextProgressEvent) => void;
  /** Refuse archives whose file contents add up to more than this (default 16 GiB). */
  maxExtractedBytes?: number;
  /** Refuse archives with more entries than this (default 1,000,000). */
  maxEntries?: number;
}

type Kind = "file" | "directory" | "symlink";

/**
 * Extracts a tar stream (plain, gzip or zstd, detected by content) into `dest`, an empty private
 * directory. Hostile archives are refused with {@link ContextArchiveError}: names with `..`
 * climbing out or absolute names, an entry beneath a symlink or a file (which would write through
 * it), hardlinks to anything but an earlier regular file of the archive, and archives beyond the
 * size or entry limits. Device nodes and fifos are skipped (a build context has no use for them).
 * Symlinks are created as they are, never followed. Owners are applied when running as root.
 */
export async function extractTar(
  input: Readable,
  dest: string,
  options: ExtractTarOptions = {},
): Promise<{ entries: number; bytes: number; compression: TarCompression }> {
  const { stream, compression } = await decompressTar(input, options.signal);
  const maxBytes = options.maxExtractedBytes ?? 16 * 1024 ** 3;
  const maxEntries = options.maxEntries ?? 1_000_000;
  const asRoot = process.getuid?.() === 0;
  const kinds = new Map<string, Kind>([["", "directory"]]);
  const dirMeta = new Map<string, { mode: number; mtime: Date; uid: number; gid: number }>();
  let entries = 0;
  let bytes = 0;
  const wrap = (e: unknown): unknown =>
    e instanceof MoltError || options.signal?.aborted
      ? e
      : new ContextArchiveError(`unreadable context archive: ${(e as Error).message}`, undefined, {
          cause: e,
        });
  const extractor = tarExtract();
  // When the input fails mid-entry, tar-stream does not fail the entry's own stream: abort the
  // per-entry writes from here so nothing waits forever.
  const inner = new AbortController();
  let failure: unknown;
  const done = pipeline(stream, extractor, ...(options.signal ? [{ signal: options.signal }] : [])).catch(
    (e: unknown) => {
      failure = wrap(e);
      inner.abort(failure);
      throw failure;
    },
  );
  done.catch(() => {});

  const ensureParents = async (path: string, name: string): Promise<void> => {
    const parts = path.split("/");
    for (let i = 1; i < parts.length; i++) {
      const p = parts.slice(0, i).join("/");
      const k = kinds.get(p);
      if (k === "directory") continue;
      if (k !== undefined)
        throw new ContextArchiveError(`archive entry "${name}" lies beneath a ${k} "${p}"`, name);
      await mkdir(join(dest, p));
      kinds.set(p, "directory");
    }
  };
  const clear = async (path: string): Promise<void> => {
    const k = kinds.get(path);
    if (k === undefined) return;
    await rm(join(dest, path), { recursive: true, force: true });
    for (const key of [...kinds.keys()]) if (key === path || key.startsWith(`${path}/`)) kinds.delete(key);
  };

  try {
    for await (const entry of extractor) {
      options.signal?.throwIfAborted();
      const h = entry.header;
      if (++entries > maxEntries)
        throw new ContextTooLargeError(`context archive with more than ${maxEntries} entries`, maxEntries);
      if (h.name.startsWith("/"))
        throw new ContextArchiveError(`archive entry has an absolute name: "${h.name}"`, h.name);
      let path: string;
      try {
        path = cleanContextPath(h.name);
      } catch (e) {
        if (e instanceof ContextEscapeError)
          throw new ContextArchiveError(`archive entry "${h.name}" climbs out of the context`, h.name);
        throw e;
      }
      const abs = join(dest, path);
      const mode = (h.mode ?? 0o644) & 0o7777;
      const mtime = h.mtime ?? new Date(0);
      const type = h.type ?? "file";
      if (path === "") {
        entry.resume();
        continue; // the root itself ("./")
      }
      await ensureParents(path, h.name);
      switch (type) {
        case "directory": {
          if (kinds.get(path) !== "directory") {
            await clear(path);
            await mkdir(abs);
            kinds.set(path, "directory");
          }
          dirMeta.delete(path);
          dirMeta.set(path, { mode, mtime, uid: h.uid ?? 0, gid: h.gid ?? 0 });
          entry.resume();
          break;
        }
        case "file":
        case "contiguous-file": {
          await clear(path);
          bytes += h.size ?? 0;
          if (bytes > maxBytes) throw new ContextTooLargeError("extracted context archive", maxBytes);
          const fh = await open(abs, "wx", 0o600);
          try {
            await pipeline(entry, createWriteStream("", { fd: fh.fd, autoClose: false }), {
              signal: inner.signal,
            });
          } catch (e) {
            await fh.close();
            throw e;
          }
          await fh.chmod(mode);
          if (asRoot) await fh.chown(h.uid ?? 0, h.gid ?? 0);
          await fh.utimes(mtime, mtime);
          await fh.close();
          kinds.set(path, "file");
          break;
        }
        case "symlink": {
          entry.resume();
          await clear(path);
          await symlink(h.linkname ?? "", abs);
          if (asRoot) await lchown(abs, h.uid ?? 0, h.gid ?? 0);
          await lutimes(abs, mtime, mtime);
          kinds.set(path, "symlink");
          break;
        }
        case "link": {
          entry.resume();
          let target: string;
          try {
            if ((h.linkname ?? "").startsWith("/")) throw new Error("absolute");
            target = cleanContextPath(h.linkname ?? "");
          } catch {
            throw new ContextArchiveError(`hardlink "${h.name}" points out of the context`, h.name);
          }
          if (kinds.get(target) !== "file") {
            throw new ContextArchiveError(
              `hardlink "${h.name}" must point to an earlier regular file of the archive, not "${h.linkname}"`,
              h.name,
            );
          }
          if (target !== path) {
            await clear(path);
            await link(join(dest, target), abs);
            kinds.set(path, "file");
          }
          break;
        }
        default:
          debug("skipping %s entry %s", type, h.name);
          entry.resume();
      }
      if (entries % 1000 === 0) options.onProgress?.({ type: "molt:context:extract", entries, bytes });
    }
    await done;
  } catch (e) {
    const err = failure ?? wrap(e);
    stream.destroy();
    extractor.destroy();
    await done.catch(() => {});
    throw err;
  }
  // Directory modes and times last, deepest first, so read-only directories do not block writes.
  const dirs = [...dirMeta.keys()].sort((a, b) => b.split("/").length - a.split("/").length);
  for (const path of dirs) {
    const d = dirMeta.get(path) as { mode: number; mtime: Date; uid: number; gid: number };
    const abs = join(dest, path);
    const st = await lstat(abs).catch(() => undefined);
    if (!st?.isDirectory()) continue;
    if (asRoot) await lchown(abs, d.uid, d.gid);
    await chmod(abs, d.mode);
    await utimes(abs, d.mtime, d.mtime);
  }
  options.onProgress?.({ type: "molt:context:extract", entries, bytes });
  return { entries, bytes, compression };
}
