import { Baseline, type BaselineColumns } from "./baseline.js";
import { TYPE_CODE } from "./baseline-columns.js";

/** Files written now: with a `ctimeMs` column. */
const MAGIC = Buffer.from("MOLTBLN2", "latin1");
/** Files of earlier builds: no `ctimeMs` column (it is derived from `ctimeNs` when read). */
const MAGIC_V1 = Buffer.from("MOLTBLN1", "latin1");

/** The strings of a baseline file (the numbers follow it in columns). */
interface Header {
  count: number;
  xattrsKnown: boolean;
  paths: string[];
  /** [index, target] of every symlink. */
  links: [number, string][];
  /** [index, {name: hex value}] of every entry with xattrs. */
  xattrs: [number, Record<string, string>][];
}

/** Column layout: 8-byte columns first so every view is aligned. */
const COLS = [
  ["size", Float64Array],
  ["ctimeMs", Float64Array],
  ["rdev", Float64Array],
  ["mtimeNs", BigInt64Array],
  ["ctimeNs", BigInt64Array],
  ["ino", BigUint64Array],
  ["hash", BigUint64Array],
  ["uid", Uint32Array],
  ["gid", Uint32Array],
  ["nlink", Uint32Array],
  ["mode", Uint16Array],
  ["type", Uint8Array],
  ["flags", Uint8Array],
] as const;
type ColName = (typeof COLS)[number][0];
/** The layout of a `MOLTBLN1` file: {@link COLS} without `ctimeMs`. */
const COLS_V1: readonly (typeof COLS)[number][] = COLS.filter(([k]) => k !== "ctimeMs");
type Col = Float64Array | BigInt64Array | BigUint64Array | Uint32Array | Uint16Array | Uint8Array;

const HAS_HASH = 1;
const HAS_RDEV = 2;

/**
 * A {@link Baseline} as bytes (for {@link baselineFromBytes}): what the snapshot store keeps
 * beside a stored root so that a later build knows the root's exact index without walking it
 * (20,000 entries cost a scan of 0.3–0.9 s; reading them back costs a few milliseconds). Paths,
 * link targets and xattrs go in a JSON header, the numbers in typed columns.
 */
export function baselineToBytes(baseline: Baseline): Buffer {
  const n = baseline.size;
  const cols = Object.fromEntries(COLS.map(([k, T]) => [k, new T(n)])) as Record<ColName, Col>;
  const header: Header = { count: n, xattrsKnown: baseline.xattrsKnown, paths: [], links: [], xattrs: [] };
  let i = 0;
  for (const [path, e] of baseline.entries()) {
    header.paths.push(path);
    (cols.size as Float64Array)[i] = e.size;
    (cols.ctimeMs as Float64Array)[i] = e.ctimeMs;
    (cols.mtimeNs as BigInt64Array)[i] = e.mtimeNs;
    (cols.ctimeNs as BigInt64Array)[i] = e.ctimeNs;
    (cols.ino as BigUint64Array)[i] = e.ino;
    (cols.uid as Uint32Array)[i] = e.uid;
    (cols.gid as Uint32Array)[i] = e.gid;
    (cols.nlink as Uint32Array)[i] = e.nlink;
    (cols.mode as Uint16Array)[i] = e.mode;
    (cols.type as Uint8Array)[i] = TYPE_CODE[e.type];
    let flags = 0;
    if (e.hash !== undefined) {
      flags |= HAS_HASH;
      (cols.hash as BigUint64Array)[i] = e.hash;
    }
    if (e.rdev !== undefined) {
      flags |= HAS_RDEV;
      (cols.rdev as Float64Array)[i] = e.rdev;
    }
    (cols.flags as Uint8Array)[i] = flags;
    if (e.linkTarget !== undefined) header.links.push([i, e.linkTarget]);
    if (e.xattrs)
      header.xattrs.push([
        i,
        Object.fromEntries(Object.entries(e.xattrs).map(([k, v]) => [k, v.toString("hex")])),
      ]);
    i++;
  }
  const json = Buffer.from(JSON.stringify(header), "utf8");
  const head = 8 + 4 + json.length;
  const pad = (8 - (head % 8)) % 8;
  const parts: Buffer[] = [MAGIC, Buffer.alloc(4), json, Buffer.alloc(pad)];
  parts[1]!.writeUInt32LE(json.length);
  for (const [k] of COLS) {
    const c = cols[k];
    parts.push(Buffer.from(c.buffer, c.byteOffset, c.byteLength));
  }
  return Buffer.concat(parts);
}

/**
 * The {@link Baseline} that {@link baselineToBytes} wrote. Throws on bytes that are not one
 * (wrong magic, truncated, inconsistent): the caller then scans the tree instead.
 */
export function baselineFromBytes(bytes: Buffer): Baseline {
  const v1 = bytes.length >= 12 && bytes.subarray(0, 8).equals(MAGIC_V1);
  if (bytes.length < 12 || !(v1 || bytes.subarray(0, 8).equals(MAGIC)))
    throw new Error("not a molt baseline file");
  const layout: readonly (typeof COLS)[number][] = v1 ? COLS_V1 : COLS;
  const jsonLen = bytes.readUInt32LE(8);
  if (12 + jsonLen > bytes.length) throw new Error("truncated baseline file");
  const header = JSON.parse(bytes.toString("utf8", 12, 12 + jsonLen)) as Header;
  const n = header.count;
  if (!Number.isInteger(n) || n < 1 || header.paths.length !== n)
    throw new Error("inconsistent baseline file");
  let off = 12 + jsonLen;
  off += (8 - (off % 8)) % 8;
  const need = off + layout.reduce((s, [, T]) => s + n * T.BYTES_PER_ELEMENT, 0);
  if (need !== bytes.length) throw new Error("truncated baseline file");
  // One aligned copy of the columns, then views into it.
  const body = new Uint8Array(need - off);
  body.set(bytes.subarray(off));
  const cols = {} as Record<ColName, Col>;
  let at = 0;
  for (const [k, T] of layout) {
    cols[k] = new T(body.buffer, at, n);
    at += n * T.BYTES_PER_ELEMENT;
  }
  const xattrs = new Map<number, Record<string, Buffer>>();
  for (const [i, x] of new Map(header.xattrs))
    if (x && Number.isInteger(i) && i >= 0 && i < n)
      xattrs.set(i, Object.fromEntries(Object.entries(x).map(([k, v]) => [k, Buffer.from(v, "hex")])));
  // Slot i of the file is slot i of the baseline: the columns are copied whole, not entry by entry.
  const b = Baseline.fromColumns({
    ...(cols as unknown as Omit<BaselineColumns, "paths" | "linkTargets" | "xattrs">),
    paths: header.paths,
    linkTargets: new Map(header.links),
    xattrs,
  });
  if (!b) throw new Error("inconsistent baseline file");
  b.xattrsKnown = header.xattrsKnown;
  if (b.size !== n || !b.has("")) throw new Error("inconsistent baseline file");
  return b;
}
