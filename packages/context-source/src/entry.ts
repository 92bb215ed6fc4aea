import type { BigIntStats } from "node:fs";
import { constants } from "node:fs";
import type { EntryType, FileEntry } from "@molt/oci";

/** The entry type of an lstat result; `undefined` for sockets, which never go into images. */
export function entryType(st: BigIntStats): EntryType | undefined {
  const fmt = Number(st.mode) & constants.S_IFMT;
  switch (fmt) {
    case constants.S_IFREG:
      return "file";
    case constants.S_IFDIR:
      return "directory";
    case constants.S_IFLNK:
      return "symlink";
    case constants.S_IFCHR:
      return "char";
    case constants.S_IFBLK:
      return "block";
    case constants.S_IFIFO:
      return "fifo";
    default:
      return undefined;
  }
}

/** Builds the shared {@link FileEntry} for a path from its lstat result and on-disk location. */
export function toFileEntry(
  path: string,
  abs: string,
  st: BigIntStats,
  linkTarget: string | undefined,
): FileEntry | undefined {
  const type = entryType(st);
  if (type === undefined) return undefined;
  const mode = Number(st.mode) & 0o7777;
  if (type === "file") {
    // `source` in the literal: added afterwards it went to a second, out-of-object property
    // store (issue 16: ~40 bytes more per walked file).
    const file: FileEntry = {
      path,
      type,
      mode,
      uid: Number(st.uid),
      gid: Number(st.gid),
      size: Number(st.size),
      mtimeNs: st.mtimeNs,
      source: abs,
    };
    if (st.nlink > 1n) file.inode = `${st.dev}:${st.ino}`;
    return file;
  }
  const entry: FileEntry = {
    path,
    type,
    mode,
    uid: Number(st.uid),
    gid: Number(st.gid),
    size: 0,
    mtimeNs: st.mtimeNs,
  };
  if (type === "symlink") entry.linkTarget = linkTarget ?? "";
  if (type === "char" || type === "block") {
    // glibc's gnu_dev_major/gnu_dev_minor encoding.
    const rdev = st.rdev;
    entry.devMajor = Number(((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn));
    entry.devMinor = Number((rdev & 0xffn) | ((rdev >> 12n) & ~0xffn));
  }
  return entry;
}

/** The lstat fields of a walked regular file that tell it unchanged (a `BigIntStats` has them too). */
export interface StatFields {
  size: bigint;
  mtimeNs: bigint;
  ctimeNs: bigint;
  ino: bigint;
  dev: bigint;
}

/** A base class whose constructor gives back the object it is handed (see {@link Stamped}). */
class Given {
  constructor(o: object) {
    // biome-ignore lint/correctness/noConstructorReturn: the subclass's private field goes on `o`
    return o;
  }
}

/**
 * Puts a walked file's stamp on its entry as a private field (`new Stamped(entry, stamp)`
 * returns `entry`): no other code sees it, a copy (`{ ...entry }`) does not take it along, and
 * it costs one slot on the entry, where a WeakMap from entry to stamp cost ~20 ms of a
 * 20,000-file walk (its inserts, and the collector's work on a table of weak keys).
 */
class Stamped extends Given {
  readonly #stamp: StatFields;
  constructor(entry: FileEntry, stamp: StatFields) {
    super(entry);
    this.#stamp = stamp;
  }

  static of(entry: FileEntry): StatFields | undefined {
    return #stamp in entry ? (entry as Stamped).#stamp : undefined;
  }
}

/**
 * Records the lstat data of a walked regular file (see {@link statFieldsOf}): the five BigInts
 * the lstat made, no string — turning them into decimal text cost ~20 ms per 20,000 files, and
 * the digest memo compares them as 32-bit words. (Issue 16: a rope of nine pieces per stamp
 * held ~20 MB for 50,000 files; this is an object of five references, ~100 bytes a file.)
 */
export function rememberStamp(entry: FileEntry, st: BigIntStats): void {
  new Stamped(entry, { size: st.size, mtimeNs: st.mtimeNs, ctimeNs: st.ctimeNs, ino: st.ino, dev: st.dev });
}

/**
 * The lstat fields a directory context's walk saw for a regular file it yielded, so a cache can
 * tell the file unchanged without another `lstat` (undefined for entries that did not come from
 * a walk, or a copy of one).
 */
export function statFieldsOf(entry: FileEntry): StatFields | undefined {
  return Stamped.of(entry);
}

/** {@link statFieldsOf} as text, `size/mtimeNs/ctimeNs/ino/dev`. */
export function statStampOf(entry: FileEntry): string | undefined {
  const s = Stamped.of(entry);
  return s && [s.size, s.mtimeNs, s.ctimeNs, s.ino, s.dev].join("/");
}
