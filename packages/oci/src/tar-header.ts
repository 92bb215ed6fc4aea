/**
 * A small, exact encoder for POSIX tar (ustar + PAX extended headers), shared by the layer writer
 * and the archive outputs. It exists because values such as `security.capability` are binary and
 * must reach the PAX record byte for byte, which string-based encoders cannot do.
 */

import { ASCII_RE, MAX_OCTAL_7, MAX_OCTAL_11 } from "./tar-limits.js";

/** The tar entry kinds molt writes. */
export type TarEntryType = "file" | "hardlink" | "symlink" | "char" | "block" | "directory" | "fifo";

/** One tar header, before encoding. */
export interface TarHeader {
  /** Entry name: relative, POSIX separators, no leading `/`; directories get a trailing `/` added. */
  name: string;
  type: TarEntryType;
  /** Permission bits (`& 0o7777`). */
  mode: number;
  uid: number;
  gid: number;
  /** Content size; 0 for everything but regular files. */
  size: number;
  /** Modification time in nanoseconds since the epoch. */
  mtimeNs: bigint;
  /** Symlink target or hardlink target path. */
  linkname?: string;
  devMajor?: number;
  devMinor?: number;
  /** Extended attributes, written as `SCHILY.xattr.<name>` PAX records. */
  xattrs?: Record<string, Uint8Array>;
  /** Owner and group names; molt leaves them empty (numeric ids only). */
  uname?: string;
  gname?: string;
}

const TYPEFLAG: Record<TarEntryType, number> = {
  file: 0x30,
  hardlink: 0x31,
  symlink: 0x32,
  char: 0x33,
  block: 0x34,
  directory: 0x35,
  fifo: 0x36,
};

/** The ustar type flag byte (`'0'` file, `'5'` directory, …) of an entry type. */
export function tarTypeFlag(type: TarEntryType): number {
  return TYPEFLAG[type];
}

const NS = 1_000_000_000n;

/** The number of zero bytes that pad `size` bytes of content to a 512-byte boundary. */
export function tarPadding(size: number): number {
  const r = size % 512;
  return r === 0 ? 0 : 512 - r;
}

/** The two zero blocks that end a tar archive. */
export const TAR_END: Buffer = Buffer.alloc(1024);

/** One PAX record: `"<len> <key>=<value>\n"`, where len counts the whole record. */
function paxRecord(key: string, value: Uint8Array | string): Buffer {
  const v = typeof value === "string" ? Buffer.from(value, "utf8") : Buffer.from(value);
  const body = Buffer.byteLength(key) + v.length + 3; // space, '=', '\n'
  let len = body + String(body).length;
  if (String(len).length !== String(body).length) len = body + String(len).length;
  return Buffer.concat([Buffer.from(`${len} ${key}=`, "utf8"), v, Buffer.from("\n")]);
}

function writeOctal(buf: Buffer, off: number, width: number, value: number): void {
  // width includes the terminating NUL; digits written right to left, zero-padded, no string made
  // (a header has seven such fields, a 20,000-file COPY 140,000)
  buf[off + width - 1] = 0;
  let v = value;
  for (let i = off + width - 2; i >= off; i--) {
    buf[i] = 0x30 + (v % 8);
    v = Math.floor(v / 8);
  }
}

function writeBase256(buf: Buffer, off: number, width: number, value: number): void {
  let v = BigInt(value);
  for (let i = off + width - 1; i > off; i--) {
    buf[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  buf[off] = 0x80;
}

/** A name that fits a ustar field, for readers that ignore PAX: ASCII, at most `max` bytes. */
function placeholder(name: string, max: number): string {
  const ascii = name.replace(/[^\x20-\x7e]/g, "_");
  return ascii.length <= max ? ascii : ascii.slice(ascii.length - max);
}

/** Splits `name` into ustar (prefix, name) when it is ASCII and fits; undefined otherwise. */
function splitUstarName(name: string): { prefix: string; name: string } | undefined {
  if (!ASCII_RE.test(name)) return undefined;
  if (name.length <= 100) return { prefix: "", name };
  // find a '/' such that prefix <= 155 and rest <= 100 (the slash itself is dropped)
  const start = Math.max(0, name.length - 101);
  for (let i = start; i < name.length && i <= 155; i++) {
    if (name.charCodeAt(i) === 0x2f && i > 0 && name.length - i - 1 <= 100 && name.length - i - 1 > 0) {
      return { prefix: name.slice(0, i), name: name.slice(i + 1) };
    }
  }
  return undefined;
}

function formatMtime(ns: bigint): string {
  const neg = ns < 0n;
  const abs = neg ? -ns : ns;
  const sec = abs / NS;
  const frac = abs % NS;
  let s = sec.toString();
  if (frac !== 0n) s += `.${frac.toString().padStart(9, "0").replace(/0+$/, "")}`;
  return neg ? `-${s}` : s;
}

/** "ustar\0" and version "00", at offset 257. */
const USTAR_MAGIC = Buffer.from("ustar\u000000", "ascii");

function ustarBlock(
  fields: {
    name: string;
    prefix: string;
    mode: number;
    uid: number;
    gid: number;
    size: number;
    mtime: number;
    typeflag: number;
    linkname: string;
    uname: string;
    gname: string;
    devMajor: number;
    devMinor: number;
  },
  sizeBase256: boolean,
): Buffer {
  const b = Buffer.alloc(512);
  // (empty strings are not written: the block is zeros already)
  b.write(fields.name, 0, 100, "utf8");
  writeOctal(b, 100, 8, fields.mode);
  writeOctal(b, 108, 8, fields.uid);
  writeOctal(b, 116, 8, fields.gid);
  if (sizeBase256) writeBase256(b, 124, 12, fields.size);
  else writeOctal(b, 124, 12, fields.size);
  writeOctal(b, 136, 12, fields.mtime);
  b[156] = fields.typeflag;
  if (fields.linkname !== "") b.write(fields.linkname, 157, 100, "utf8");
  USTAR_MAGIC.copy(b, 257);
  if (fields.uname !== "") b.write(fields.uname, 265, 32, "utf8");
  if (fields.gname !== "") b.write(fields.gname, 297, 32, "utf8");
  writeOctal(b, 329, 8, fields.devMajor);
  writeOctal(b, 337, 8, fields.devMinor);
  if (fields.prefix !== "") b.write(fields.prefix, 345, 155, "utf8");
  b.fill(0x20, 148, 156);
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += b[i]!;
  writeOctal(b, 148, 7, sum);
  b[155] = 0x20;
  return b;
}

/**
 * Encodes one entry's header: a ustar block, preceded by a PAX extended header (type `x`) when
 * the entry needs one — long or non-ASCII names and link targets, sizes of 8 GiB and more, ids
 * of 2^21 and more, sub-second or negative times, and extended attributes. The output is fully
 * determined by the input (no pids, no current time), so equal inputs give equal bytes.
 *
 * @example
 * ```ts
 * const head = encodeTarHeader({ name: "etc/hosts", type: "file", mode: 0o644, uid: 0, gid: 0, size: 12, mtimeNs: 0n });
 * // write head, then the 12 content bytes, then tarPadding(12) zero bytes
 * ```
 */
export function encodeTarHeader(h: TarHeader): Buffer {
  const records: Buffer[] = [];
  let name = h.name;
  if (h.type === "directory" && !name.endsWith("/")) name += "/";
  let split = splitUstarName(name);
  if (!split) {
    records.push(paxRecord("path", name));
    split = { prefix: "", name: placeholder(name, 100) };
  }
  let linkname = h.linkname ?? "";
  if (linkname && (Buffer.byteLength(linkname) > 100 || !ASCII_RE.test(linkname))) {
    records.push(paxRecord("linkpath", linkname));
    linkname = placeholder(linkname, 100);
  }
  const size = h.type === "file" ? h.size : 0;
  const bigSize = size > MAX_OCTAL_11;
  if (bigSize) records.push(paxRecord("size", String(size)));
  let uid = h.uid;
  if (uid > MAX_OCTAL_7) {
    records.push(paxRecord("uid", String(uid)));
    uid = 0;
  }
  let gid = h.gid;
  if (gid > MAX_OCTAL_7) {
    records.push(paxRecord("gid", String(gid)));
    gid = 0;
  }
  const ns = h.mtimeNs;
  let mtime = Number(ns >= 0n ? ns / NS : 0n);
  if (ns < 0n || ns % NS !== 0n || mtime > MAX_OCTAL_11) {
    records.push(paxRecord("mtime", formatMtime(ns)));
    if (mtime > MAX_OCTAL_11) mtime = MAX_OCTAL_11;
  }
  if (h.xattrs) {
    for (const key of Object.keys(h.xattrs).sort()) {
      records.push(paxRecord(`SCHILY.xattr.${key}`, h.xattrs[key]!));
    }
  }
  const typeflag = TYPEFLAG[h.type];
  const block = ustarBlock(
    {
      name: split.name,
      prefix: split.prefix,
      mode: h.mode & 0o7777,
      uid,
      gid,
      size,
      mtime,
      typeflag,
      linkname,
      uname: h.uname ?? "",
      gname: h.gname ?? "",
      devMajor: h.devMajor ?? 0,
      devMinor: h.devMinor ?? 0,
    },
    bigSize,
  );
  if (records.length === 0) return block;
  const pax = Buffer.concat(records);
  const base = name.replace(/\/$/, "").split("/").pop() ?? "entry";
  const paxHead = ustarBlock(
    {
      name: placeholder(`PaxHeaders/${base}`, 100),
      prefix: "",
      mode: 0o644,
      uid: 0,
      gid: 0,
      size: pax.length,
      mtime,
      typeflag: 0x78, // 'x'
      linkname: "",
      uname: "",
      gname: "",
      devMajor: 0,
      devMinor: 0,
    },
    false,
  );
  return Buffer.concat([paxHead, pax, Buffer.alloc(tarPadding(pax.length)), block]);
}
