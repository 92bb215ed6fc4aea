import type { ByteReader } from "./byte-reader.js";

/** Entry kinds a layer tar can hold, as the extractor sees them. */
export type TarEntryType =
  | "file"
  | "directory"
  | "symlink"
  | "hardlink"
  | "char"
  | "block"
  | "fifo"
  | "other";

/** One tar header with PAX and GNU long-name extensions applied. Values of PAX records stay bytes. */
export interface TarHeader {
  name: string;
  type: TarEntryType;
  /** The raw typeflag character, for error messages. */
  typeflag: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  /** Modification time in nanoseconds (PAX `mtime` keeps sub-second precision). */
  mtimeNs: bigint;
  linkname: string;
  devMajor: number;
  devMinor: number;
  xattrs: Record<string, Buffer>;
}

/** A tar archive is malformed. */
export class TarFormatError extends Error {}

const BLOCK = 512;

const isZero = (b: number) => b === 0;

function str(buf: Buffer, off: number, len: number): string {
  let end = off;
  const max = off + len;
  while (end < max && buf[end] !== 0) end++;
  return buf.toString("utf8", off, end);
}

/**
 * An octal field made of digits with optional spaces around them and a NUL end (what every tar
 * writer puts there), read without making a string; `undefined` for anything else, which
 * {@link num} then parses as before.
 */
function plainOctal(buf: Buffer, off: number, len: number): number | undefined {
  const end = off + len;
  let i = off;
  while (i < end && buf[i] === 0x20) i++;
  let v = 0;
  let digits = 0;
  for (; i < end; i++) {
    const c = buf[i]!;
    if (c < 0x30 || c > 0x37) break;
    v = v * 8 + (c - 0x30);
    digits++;
  }
  while (i < end && buf[i] === 0x20) i++;
  if (i < end && buf[i] !== 0) return undefined;
  return digits > 0 || i > off ? v : undefined;
}

function num(buf: Buffer, off: number, len: number): number {
  const first = buf[off]!;
  if ((first & 0x80) === 0) {
    const v = plainOctal(buf, off, len);
    if (v !== undefined) return v;
  }
  if (first & 0x80) {
    // base-256 (GNU): big-endian, first byte's high bit is the marker (0xff = negative).
    const negative = first === 0xff;
    let v = 0;
    for (let i = off + 1; i < off + len; i++) v = v * 256 + (negative ? 0xff - buf[i]! : buf[i]!);
    return negative ? -(v + 1) : v;
  }
  const s = str(buf, off, len).trim();
  if (s === "") return 0;
  const v = Number.parseInt(s, 8);
  if (Number.isNaN(v)) throw new TarFormatError(`bad octal number "${s}"`);
  return v;
}

/** The POSIX ustar magic (`"ustar\0"` at 257), compared byte by byte. */
function isUstar(h: Buffer): boolean {
  return (
    h[257] === 0x75 &&
    h[258] === 0x73 &&
    h[259] === 0x74 &&
    h[260] === 0x61 &&
    h[261] === 0x72 &&
    h[262] === 0
  );
}

/**
 * Whether the header's checksum is right: the sum of its bytes as unsigned (what every writer
 * stores), or as signed (some old writers), the checksum field counted as spaces. The signed sum
 * is made only when the unsigned one does not match (issue 16: two sums over every header block,
 * two blocks per entry with PAX headers, were a tenth of the tar parsing).
 */
function checksumOk(buf: Buffer): boolean {
  const stored = num(buf, 148, 8);
  let unsigned = 8 * 32;
  for (let i = 0; i < 148; i++) unsigned += buf[i]!;
  for (let i = 156; i < BLOCK; i++) unsigned += buf[i]!;
  if (stored === unsigned) return true;
  let signed = 8 * 32;
  for (let i = 0; i < BLOCK; i++) {
    if (i >= 148 && i < 156) continue;
    signed += (buf[i]! << 24) >> 24;
  }
  return stored === signed;
}

/** Parses PAX extended header records (`"<len> key=value\n"`), keeping values binary-safe. */
export function parsePax(buf: Buffer): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  let off = 0;
  while (off < buf.length) {
    const sp = buf.indexOf(0x20, off);
    if (sp < 0) break;
    const len = Number.parseInt(buf.toString("ascii", off, sp), 10);
    if (!Number.isFinite(len) || len <= 0 || off + len > buf.length) {
      if (buf.subarray(off).every((b) => b === 0)) break;
      throw new TarFormatError("malformed PAX record");
    }
    const rec = buf.subarray(sp + 1, off + len - 1); // without trailing \n
    const eq = rec.indexOf(0x3d);
    if (eq < 0) throw new TarFormatError("malformed PAX record (no '=')");
    out.set(rec.toString("utf8", 0, eq), rec.subarray(eq + 1));
    off += len;
  }
  return out;
}

/** Whether `s` is ASCII digits only (`""` is). */
function digitsOnly(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return false;
  }
  return true;
}

/** A PAX time (`[-]seconds[.fraction]`) in nanoseconds. */
function parsePaxTime(v: string): bigint {
  const t = v.trim();
  // the usual form, digits and one dot: no regular expression
  const dot = t.indexOf(".");
  const secs = dot < 0 ? t : t.slice(0, dot);
  const frac = dot < 0 ? "" : t.slice(dot + 1);
  if (secs.length > 0 && secs.length <= 15 && digitsOnly(secs) && digitsOnly(frac)) {
    return BigInt(secs) * 1_000_000_000n + BigInt(frac.padEnd(9, "0").slice(0, 9));
  }
  const m = /^(-?)(\d+)(?:\.(\d+))?$/.exec(t);
  if (!m) throw new TarFormatError(`bad PAX time "${v}"`);
  const ns = BigInt(m[2]!) * 1_000_000_000n + BigInt((m[3] ?? "").padEnd(9, "0").slice(0, 9) || "0");
  return m[1] ? -ns : ns;
}

/** The empty record map (never written: a PAX header makes a new map). */
const NONE: ReadonlyMap<string, Buffer> = new Map();

const TYPES: Record<string, TarEntryType> = {
  "0": "file",
  "\0": "file",
  "7": "file",
  "1": "hardlink",
  "2": "symlink",
  "3": "char",
  "4": "block",
  "5": "directory",
  "6": "fifo",
};

/**
 * Reads tar headers one by one. After each header the caller must consume exactly `size` bytes
 * of body through `reader.chunks(size)` (or `skip`), then call {@link finishEntry}.
 */
export class TarReader {
  readonly #r: ByteReader;
  #global = new Map<string, Buffer>();
  #pad = 0;

  constructor(reader: ByteReader) {
    this.#r = reader;
  }

  /** The underlying byte reader (to read or skip entry bodies). */
  get bytes(): ByteReader {
    return this.#r;
  }

  /** Skips the padding after a body of `size` bytes. Call after consuming the body. */
  async finishEntry(): Promise<void> {
    if (this.#pad > 0) await this.#r.skip(this.#pad);
    this.#pad = 0;
  }

  /** {@link finishEntry} when the padding is already buffered (true), else false: await {@link finishEntry}. */
  finishBuffered(): boolean {
    if (this.#pad > 0 && !this.#r.skipBuffered(this.#pad)) return false;
    this.#pad = 0;
    return true;
  }

  /** The next entry header, or `null` at the end of the archive. */
  async next(): Promise<TarHeader | null> {
    let pax = NONE;
    let longName: string | undefined;
    let longLink: string | undefined;
    for (;;) {
      const h = this.#r.take(BLOCK) ?? (await this.#r.read(BLOCK));
      if (h === null) return null;
      if (h[0] === 0 && h.every(isZero)) return null; // end-of-archive marker (second block is optional)
      if (!checksumOk(h)) throw new TarFormatError("tar header checksum mismatch (corrupt or not a tar)");
      const flag = String.fromCharCode(h[156]!);
      let size = num(h, 124, 12);
      if (size < 0) throw new TarFormatError("negative entry size");
      const pad = (BLOCK - (size % BLOCK)) % BLOCK;
      if (flag === "x" || flag === "g" || flag === "L" || flag === "K") {
        if (size > 16 * 1024 * 1024) throw new TarFormatError("extended header larger than 16 MiB");
        // copied: xattr values are kept past the entry (a slice would keep the whole chunk)
        const raw = size > 0 ? (this.#r.take(size) ?? (await this.#r.read(size))) : null;
        const body = raw ? Buffer.from(raw) : Buffer.alloc(0);
        if (pad && !this.#r.skipBuffered(pad)) await this.#r.skip(pad);
        // one header's records (the usual case) are its map, not merged into a new one
        if (flag === "x") pax = pax.size === 0 ? parsePax(body) : new Map([...pax, ...parsePax(body)]);
        else if (flag === "g") this.#global = new Map([...this.#global, ...parsePax(body)]);
        else if (flag === "L") longName = str(body, 0, body.length);
        else longLink = str(body, 0, body.length);
        continue;
      }
      // no extension records (the usual case): no merged map per entry
      const all =
        pax.size === 0 ? this.#global : this.#global.size === 0 ? pax : new Map([...this.#global, ...pax]);
      let name = str(h, 0, 100);
      if (isUstar(h) && h[345] !== 0) name = `${str(h, 345, 155)}/${name}`;
      if (longName !== undefined) name = longName;
      let linkname = longLink ?? str(h, 157, 100);
      const p = all.get("path");
      if (p) name = p.toString("utf8");
      const lp = all.get("linkpath");
      if (lp) linkname = lp.toString("utf8");
      const ps = all.get("size");
      if (ps) size = Number.parseInt(ps.toString(), 10);
      let type = TYPES[flag] ?? "other";
      if (type === "file" && flag !== "7" && name.endsWith("/")) type = "directory";
      const uid = all.get("uid");
      const gid = all.get("gid");
      const mt = all.get("mtime");
      const xattrs: Record<string, Buffer> = {};
      if (all.size > 0)
        for (const [k, v] of all) {
          if (k.startsWith("SCHILY.xattr.")) xattrs[k.slice(13)] = v;
          else if (k.startsWith("LIBARCHIVE.xattr.")) {
            xattrs[decodeURIComponent(k.slice(17))] = Buffer.from(v.toString(), "base64");
          } else if (k.startsWith("GNU.sparse."))
            throw new TarFormatError(`sparse file "${name}" is not supported`);
        }
      if (flag === "S") throw new TarFormatError(`GNU sparse file "${name}" is not supported`);
      this.#pad = (BLOCK - (size % BLOCK)) % BLOCK;
      return {
        name,
        type,
        typeflag: flag,
        mode: num(h, 100, 8) & 0o7777,
        uid: uid ? Number.parseInt(uid.toString(), 10) : num(h, 108, 8),
        gid: gid ? Number.parseInt(gid.toString(), 10) : num(h, 116, 8),
        size: type === "file" || type === "other" ? size : size,
        mtimeNs: mt ? parsePaxTime(mt.toString()) : BigInt(num(h, 136, 12)) * 1_000_000_000n,
        linkname,
        devMajor: num(h, 329, 8),
        devMinor: num(h, 337, 8),
        xattrs,
      };
    }
  }
}
