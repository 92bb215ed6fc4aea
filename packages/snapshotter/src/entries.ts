import type { BigIntStats } from "node:fs";
import type { Change, EntryType, FileEntry } from "@molt/oci";
import { nodeType } from "./baseline.js";
import { layerXattrs } from "./xattrs.js";

/** Major number of a Linux `dev_t`. */
export const major = (rdev: number): number => ((rdev >>> 8) & 0xfff) | (Math.floor(rdev / 2 ** 32) & ~0xfff);
/** Minor number of a Linux `dev_t`. */
export const minor = (rdev: number): number => (rdev & 0xff) | ((rdev >>> 12) & ~0xff);

/**
 * Builds the {@link FileEntry} of a changed path from its `lstat`. Of `extra.xattrs`, only
 * `security.capability` is kept ({@link layerXattrs}), as BuildKit's layers carry.
 */
export function fileEntry(
  rel: string,
  st: BigIntStats,
  source: string,
  extra: { linkTarget?: string; xattrs?: Record<string, Buffer> | undefined },
): FileEntry {
  const t = nodeType(st);
  const type: EntryType = t === "socket" ? "file" : t;
  const e: FileEntry = {
    path: rel,
    type,
    mode: Number(st.mode & 0o7777n),
    uid: Number(st.uid),
    gid: Number(st.gid),
    size: type === "file" ? Number(st.size) : 0,
    mtimeNs: st.mtimeNs,
  };
  if (type === "file") e.source = source;
  if (type === "symlink") e.linkTarget = extra.linkTarget ?? "";
  if (type === "char" || type === "block") {
    e.devMajor = major(Number(st.rdev));
    e.devMinor = minor(Number(st.rdev));
  }
  // Only what a layer records (security.capability); the baseline keeps every xattr.
  const x = layerXattrs(extra.xattrs);
  if (x) e.xattrs = x;
  return e;
}

/**
 * Turns regular files that share an inode into one `file` plus `hardlink` entries pointing at it
 * (the first path in sort order carries the bytes).
 */
export function linkHardlinks(entries: Array<{ entry: FileEntry; ino: bigint; nlink: number }>): void {
  const first = new Map<bigint, string>();
  const sorted = entries.filter((x) => x.entry.type === "file" && x.nlink > 1);
  sorted.sort((a, b) => (a.entry.path < b.entry.path ? -1 : a.entry.path > b.entry.path ? 1 : 0));
  for (const x of sorted) {
    const f = first.get(x.ino);
    if (f === undefined) {
      first.set(x.ino, x.entry.path);
      continue;
    }
    x.entry.type = "hardlink";
    x.entry.linkTarget = f;
    x.entry.size = 0;
    delete x.entry.source;
  }
}

const pathOf = (c: Change) => (c.kind === "add" ? c.entry.path : c.path);
const rank = { delete: 0, opaque: 1, add: 2 } as const;

/** Sorts changes by path (parents first); for one path, deletion and opaque marker come before the entry. */
export function sortChanges(changes: Change[]): Change[] {
  return changes.sort((a, b) => {
    const pa = pathOf(a);
    const pb = pathOf(b);
    if (pa !== pb) return pa < pb ? -1 : 1;
    return rank[a.kind] - rank[b.kind];
  });
}
