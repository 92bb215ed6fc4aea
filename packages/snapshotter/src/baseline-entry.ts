import type { BigIntStats } from "node:fs";

/** The kind of an entry on disk (a hardlink is just another name of a `file`). */
export type NodeType = "file" | "directory" | "symlink" | "char" | "block" | "fifo" | "socket";

/**
 * What the snapshotter knows about one path of the root: enough stat data to tell, without
 * reading content, whether it changed.
 */
export interface BaselineEntry {
  type: NodeType;
  /** Permission bits (`mode & 0o7777`). */
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtimeNs: bigint;
  ctimeNs: bigint;
  /** `ctimeNs` as the millisecond double that a non-bigint `lstat` reports (`ctimeMs`), for walk mode's fast path. */
  ctimeMs: number;
  ino: bigint;
  nlink: number;
  /** Symlink target as stored. */
  linkTarget?: string;
  /** Device numbers of character and block devices. */
  rdev?: number;
  /** Extended attributes, when known to be non-empty. `undefined` means none (or unknown when {@link Baseline.xattrsKnown} is false). */
  xattrs?: Record<string, Buffer>;
  /** xxh64 of a regular file's content, when it was computed (during extraction). */
  hash?: bigint;
}

/** Maps `lstat` (bigint) results to a {@link NodeType}. */
export function nodeType(st: BigIntStats): NodeType {
  if (st.isFile()) return "file";
  if (st.isDirectory()) return "directory";
  if (st.isSymbolicLink()) return "symlink";
  if (st.isCharacterDevice()) return "char";
  if (st.isBlockDevice()) return "block";
  if (st.isFIFO()) return "fifo";
  return "socket";
}

/** The double Node's non-bigint stat computes for a time (`sec * 1e3 + nsec / 1e6`), from nanoseconds. */
export function msFromNs(ns: bigint): number {
  return Number(ns / 1_000_000_000n) * 1e3 + Number(ns % 1_000_000_000n) / 1e6;
}

/** Builds a {@link BaselineEntry} from an `lstat` result (plus what `lstat` cannot tell). */
export function entryFromStat(
  st: BigIntStats,
  extra?: { linkTarget?: string; xattrs?: Record<string, Buffer>; hash?: bigint },
): BaselineEntry {
  const type = nodeType(st);
  const e: BaselineEntry = {
    type,
    mode: Number(st.mode & 0o7777n),
    uid: Number(st.uid),
    gid: Number(st.gid),
    size: type === "file" ? Number(st.size) : 0,
    mtimeNs: st.mtimeNs,
    ctimeNs: st.ctimeNs,
    ctimeMs: msFromNs(st.ctimeNs),
    ino: st.ino,
    nlink: Number(st.nlink),
  };
  if (type === "char" || type === "block") e.rdev = Number(st.rdev);
  if (extra?.linkTarget !== undefined) e.linkTarget = extra.linkTarget;
  if (extra?.xattrs && Object.keys(extra.xattrs).length > 0) e.xattrs = extra.xattrs;
  if (extra?.hash !== undefined) e.hash = extra.hash;
  return e;
}
