import { type BigIntStats, lstatSync, readdirSync, readlinkSync } from "node:fs";
import { join } from "node:path";
import type { FileEntry } from "@molt/oci";
import type { IgnoreMatcher, ParentMatches } from "./dockerignore.js";
import { rememberStamp, toFileEntry } from "./entry.js";
import { joinContextPath } from "./paths.js";

/** Where a walk of a directory context starts and what it honours (see {@link walkBatches}). */
export interface WalkStart {
  /** Absolute real path of the context root. */
  root: string;
  ignore: IgnoreMatcher;
  /** The directory to walk, relative to the root, symlinks resolved. */
  real: string;
  /** The same directory as the caller named it: the prefix of every yielded `path`. */
  out: string;
  /** The `.dockerignore` results of `real`'s parents (undefined at the root). */
  info: ParentMatches;
  /** A batch is handed out once it holds this many entries (and at the end). */
  batch: number;
  /** Names lstat'ed between turns of the event loop; default {@link LSTAT_BATCH}. */
  pause?: number;
  signal?: AbortSignal | undefined;
}

/**
 * The entries below a directory of a context on disk in walk order (depth first, a directory
 * before its contents, siblings in byte order; ignored paths left out, an ignored directory
 * yielded just before a re-included path below it), in arrays of about `start.batch` entries.
 * A consumer of batches pays the async-iteration machinery per batch, not per entry: per entry,
 * through three nested generators, it cost ~60 ms of a 20,000-file context's warm build.
 */
export async function* walkBatches(start: WalkStart): AsyncGenerator<FileEntry[]> {
  const buf: FileEntry[] = [];
  yield* walkDir(start, start.real, start.out, start.info, [], buf, { listed: 0 });
  if (buf.length > 0) yield buf;
}

async function* walkDir(
  start: WalkStart,
  real: string,
  out: string,
  info: ParentMatches,
  pending: { entry: FileEntry; emitted: boolean }[],
  buf: FileEntry[],
  pace: { listed: number },
): AsyncGenerator<FileEntry[]> {
  start.signal?.throwIfAborted();
  const { ignore } = start;
  const abs = join(start.root, real);
  // Synchronous like the lstat calls below: one directory's listing is one syscall batch, and
  // through the thread pool each of a context's directories cost a round trip of idle main thread.
  const names = readdirSync(abs).sort(byteOrder);
  // However the names are spread over directories, the event loop gets a turn every
  // `pause` names (a walk of one huge tree in one go would hold it for seconds).
  const pause = start.pause ?? LSTAT_BATCH;
  pace.listed += names.length;
  if (pace.listed >= pause) {
    pace.listed = 0;
    await new Promise<void>((r) => setImmediate(r));
  }
  const useIgnore = !ignore.empty;
  for (let i = 0; i < names.length; i++) {
    if (i > 0 && i % pause === 0) await new Promise<void>((r) => setImmediate(r));
    const name = names[i] as string;
    // Each name's lstat is used at once and dropped (a BigIntStats is ~700 bytes of BigInts and
    // Dates): a directory's worth held together survived into the old generation (a
    // 50,000-file COPY's peak RSS rose past 200 MiB).
    const st = lstatOne(childPath(abs, name));
    if (st === undefined) continue;
    const childReal = joinContextPath(real, name);
    const entry = toFileEntry(joinContextPath(out, name), childPath(abs, name), st.s, st.link);
    if (entry === undefined) continue;
    if (entry.type === "file") rememberStamp(entry, st.s);
    let childInfo: ParentMatches;
    let ignored = false;
    if (useIgnore) {
      const r = ignore.matchWithParent(childReal, info);
      childInfo = r.info;
      ignored = r.matched;
    }
    const isDir = entry.type === "directory";
    if (ignored) {
      if (!isDir || !ignore.mayIncludeBelow(childReal)) continue;
      pending.push({ entry, emitted: false });
      yield* walkDir(start, childReal, entry.path, childInfo, pending, buf, pace);
      pending.pop();
      continue;
    }
    for (const p of pending) {
      if (!p.emitted) {
        p.emitted = true;
        buf.push(p.entry);
      }
    }
    buf.push(entry);
    if (buf.length >= start.batch) yield buf.splice(0);
    if (isDir) yield* walkDir(start, childReal, entry.path, childInfo, pending, buf, pace);
  }
}

/**
 * `abs/name` for a name `readdir` gave (one component, never `.` or `..`), without path.join:
 * its normalising builds the result a segment at a time, a rope of two pieces per segment that
 * each entry's `source` kept (issue 16: ~500 bytes a file, 50,000 walked files held ~25 MB).
 * This string is the directory's path, shared by all its children, and the name.
 */
function childPath(abs: string, name: string): string {
  return abs.endsWith("/") ? `${abs}${name}` : `${abs}/${name}`;
}

/** Names lstat'ed per batch before the walk lets other work run (a huge directory blocks no longer than this). */
const LSTAT_BATCH = 4096;

/**
 * lstat (and readlink for a symlink) of one name, synchronously: a walk's lstat calls through
 * the thread pool cost 2.5x the CPU of plain calls (measured on a 20,000-file context: 250-290 ms
 * against 100-120 ms; `find -printf` takes 30 ms of system time). The walk gives the event loop
 * a turn every {@link LSTAT_BATCH} names. A name removed while walking is `undefined`.
 */
function lstatOne(p: string): { s: BigIntStats; link: string | undefined } | undefined {
  try {
    const s = lstatSync(p, { bigint: true, throwIfNoEntry: false });
    return s && { s, link: s.isSymbolicLink() ? readlinkSync(p) : undefined };
  } catch (e) {
    if (isMissing(e)) return undefined; // removed while walking
    throw e;
  }
}

/** Byte order for names (UTF-16 code unit order, which equals UTF-8 byte order for BMP names). */
export function byteOrder(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** True for ENOENT/ENOTDIR: the path is not there. */
export function isMissing(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  return code === "ENOENT" || code === "ENOTDIR";
}
