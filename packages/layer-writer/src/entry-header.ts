import type { FileEntry, TarHeader } from "@molt/oci";
import { InvalidEntryError } from "./errors.js";

/** Extended attributes that are never stored: host labels and ACL internals. */
function keepXattr(name: string): boolean {
  return !(name === "security.selinux" || name.startsWith("system."));
}

export const NS_PER_S = 1_000_000_000n;

/** How entry times are written: clamped to `SOURCE_DATE_EPOCH`, truncated to whole seconds. */
export interface TimeRule {
  clampNs: bigint | undefined;
  wholeSeconds: boolean;
}

/** `ns` rounded down to a whole second (towards the past, also before 1970). */
function floorSecond(ns: bigint): bigint {
  const r = ns % NS_PER_S;
  return r === 0n ? ns : r > 0n ? ns - r : ns - r - NS_PER_S;
}

/** The whole second the last time fell in: `[secondStart, secondEnd)` (most entries of a layer share it). */
let secondStart = 0n;
let secondEnd = 0n;

/** The mtime an entry's header gets under `time` (no BigInt division for a time in the last one's second). */
function writtenTime(ns: bigint, time: TimeRule): bigint {
  const t = time.clampNs !== undefined && ns > time.clampNs ? time.clampNs : ns;
  if (!time.wholeSeconds) return t;
  if (t >= secondStart && t < secondEnd) return secondStart;
  secondStart = floorSecond(t);
  secondEnd = secondStart + NS_PER_S;
  return secondStart;
}

/**
 * The tar header of `entry` written at `path`. `size`, for a regular file, replaces the entry's
 * own size (the size read from its source; passed apart so no copy of the entry is made).
 */
export function headerOf(entry: FileEntry, path: string, time: TimeRule, size?: number): TarHeader {
  const mtimeNs = writtenTime(entry.mtimeNs, time);
  const h: TarHeader = {
    name: path,
    type: entry.type,
    mode: entry.mode & 0o7777,
    uid: entry.uid,
    gid: entry.gid,
    size: entry.type === "file" ? (size ?? entry.size) : 0,
    mtimeNs,
  };
  if (entry.type === "symlink" || entry.type === "hardlink") {
    if (entry.linkTarget === undefined || entry.linkTarget === "") {
      throw new InvalidEntryError(path, `${entry.type} without a target`);
    }
    h.linkname = entry.linkTarget;
  }
  if (entry.type === "char" || entry.type === "block") {
    h.devMajor = entry.devMajor ?? 0;
    h.devMinor = entry.devMinor ?? 0;
  }
  if (entry.xattrs) {
    const x: Record<string, Uint8Array> = {};
    let any = false;
    for (const [k, v] of Object.entries(entry.xattrs)) {
      if (keepXattr(k)) {
        x[k] = v;
        any = true;
      }
    }
    if (any) h.xattrs = x;
  }
  return h;
}
