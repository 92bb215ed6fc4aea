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
  const entry: FileEntry = {
    path,
    type,
    mode: Number(st.mode) & 0o7777,
    uid: Number(st.uid),
    gid: Number(st.gid),
    size: type === "file" ? Number(st.size) : 0,
    mtimeNs: st.mtimeNs,
  };
  if (type === "file") {
    entry.source = abs;
    if (st.nlink > 1n) entry.inode = `${st.dev}:${st.ino}`;
  }
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

/** Records the lstat data of a walked regular file (see {@link statStampOf}). */
export function rememberStamp(entry: FileEntry, st: BigIntStats): void {
  stamps.set(entry, `${st.size}/${st.mtimeNs}/${st.ctimeNs}/${st.ino}/${st.dev}`);
}

/**
 * The lstat data a directory context's walk saw for a regular file it yielded, as
 * `size/mtimeNs/ctimeNs/ino/dev`, so a cache can tell the file unchanged without another
 * `lstat` (undefined for entries that did not come from a walk, or a copy of one).
 */
export function statStampOf(entry: FileEntry): string | undefined {
  return stamps.get(entry);
}
