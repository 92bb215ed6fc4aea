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

const stamps = new WeakMap<FileEntry, string>();

/**
 * Records the lstat data of a walked regular file (see {@link statStampOf}). Built with `join`,
 * which makes one flat string: a template literal made a rope of nine pieces, ~400 bytes a file
 * kept for the whole build (issue 16: 50,000 walked files held ~20 MB of stamps).
 */
export function rememberStamp(entry: FileEntry, st: BigIntStats): void {
  stamps.set(entry, [st.size, st.mtimeNs, st.ctimeNs, st.ino, st.dev].join("/"));
}

/**
 * The lstat data a directory context's walk saw for a regular file it yielded, as
 * `size/mtimeNs/ctimeNs/ino/dev`, so a cache can tell the file unchanged without another
 * `lstat` (undefined for entries that did not come from a walk, or a copy of one).
 */
export function statStampOf(entry: FileEntry): string | undefined {
  return stamps.get(entry);
}
