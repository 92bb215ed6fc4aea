import type { NodeType } from "./baseline-entry.js";

/** Node types by their one-byte code in {@link Columns.type}. */
export const TYPES: readonly NodeType[] = ["file", "directory", "symlink", "char", "block", "fifo", "socket"];
/** The one-byte code of each node type. */
export const TYPE_CODE: Readonly<Record<NodeType, number>> = {
  file: 0,
  directory: 1,
  symlink: 2,
  char: 3,
  block: 4,
  fifo: 5,
  socket: 6,
};
/** Flag bit of a slot: `hash` holds a value. */
export const HAS_HASH = 1;
/** Flag bit of a slot: `rdev` holds a value. */
export const HAS_RDEV = 2;

/**
 * The columns of a `Baseline`: one typed-array slot per path, no object per entry (issue
 * 16: a 50,000-file root held 50,000 objects with four bigints each).
 */
export class Columns {
  type: Uint8Array;
  flags: Uint8Array;
  mode: Uint16Array;
  uid: Uint32Array;
  gid: Uint32Array;
  nlink: Uint32Array;
  size: Float64Array;
  ctimeMs: Float64Array;
  rdev: Float64Array;
  /** The set counter when the slot was last written: tells a replaced entry from the one seen before. */
  stamp: Float64Array;
  mtimeNs: BigInt64Array;
  ctimeNs: BigInt64Array;
  ino: BigUint64Array;
  hash: BigUint64Array;

  constructor(readonly capacity: number) {
    this.type = new Uint8Array(capacity);
    this.flags = new Uint8Array(capacity);
    this.mode = new Uint16Array(capacity);
    this.uid = new Uint32Array(capacity);
    this.gid = new Uint32Array(capacity);
    this.nlink = new Uint32Array(capacity);
    this.size = new Float64Array(capacity);
    this.ctimeMs = new Float64Array(capacity);
    this.rdev = new Float64Array(capacity);
    this.stamp = new Float64Array(capacity);
    this.mtimeNs = new BigInt64Array(capacity);
    this.ctimeNs = new BigInt64Array(capacity);
    this.ino = new BigUint64Array(capacity);
    this.hash = new BigUint64Array(capacity);
  }

  /** A copy with room for `capacity` slots (the first `used` copied). */
  copy(capacity: number, used: number): Columns {
    const c = new Columns(capacity);
    for (const k of COLUMN_KEYS)
      (c[k] as { set(a: ArrayLike<unknown>): void }).set(this[k].subarray(0, used) as never);
    return c;
  }
}

const COLUMN_KEYS = [
  "type",
  "flags",
  "mode",
  "uid",
  "gid",
  "nlink",
  "size",
  "ctimeMs",
  "rdev",
  "stamp",
  "mtimeNs",
  "ctimeNs",
  "ino",
  "hash",
] as const;
