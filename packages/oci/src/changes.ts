import type { Readable } from "node:stream";

/** The kinds of filesystem entry a layer can hold. Sockets are never stored. */
export type EntryType = "file" | "directory" | "symlink" | "hardlink" | "char" | "block" | "fifo";

/**
 * One filesystem entry as it will appear in (or was read from) a layer. This is the shared
 * currency of the context sources (files COPY reads), the snapshotter (what a step changed)
 * and the layer writer (what goes into the tar).
 */
export interface FileEntry {
  /** Path inside the image: relative, POSIX separators, no leading `/` or `./`, e.g. `usr/bin/x`. */
  path: string;
  type: EntryType;
  /** Permission bits including setuid/setgid/sticky (`mode & 0o7777`). */
  mode: number;
  uid: number;
  gid: number;
  /** Size in bytes of a regular file's content; 0 for everything else. */
  size: number;
  /** Modification time in nanoseconds since the epoch. */
  mtimeNs: bigint;
  /** Symlink: the target as stored. Hardlink: the in-image path (same form as `path`) of the entry it links to. */
  linkTarget?: string;
  /** Device numbers of character and block devices. */
  devMajor?: number;
  devMinor?: number;
  /**
   * The inode a regular file shares with other names on disk (`"<dev>:<ino>"`), set by sources
   * that read a directory when the file has more than one link (nlink > 1). A copy keeps names
   * with the same inode as hard links of one file, as BuildKit's copy does.
   */
  inode?: string;
  /** Extended attributes (e.g. `security.capability`, `user.*`). */
  xattrs?: Record<string, Buffer>;
  /** Absolute path on disk holding a regular file's bytes, when they come from a file. */
  source?: string;
  /** Opens a regular file's bytes, when they do not come from a file on disk. */
  open?: () => Readable;
}

/**
 * A change between two filesystem trees, in the order-independent form layers need:
 * an added or modified entry, a deleted path (becomes a `.wh.` whiteout), or a directory whose
 * lower contents must be hidden (becomes an opaque `.wh..wh..opq` marker).
 */
export type Change =
  | { kind: "add"; entry: FileEntry }
  | { kind: "delete"; path: string }
  | { kind: "opaque"; path: string };
