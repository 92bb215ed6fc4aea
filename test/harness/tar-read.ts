import { gunzipSync } from "node:zlib";

/**
 * One entry of a tar archive as the conformance judge sees it. Written for the tests from the
 * POSIX ustar/pax formats (and GNU's long-name records), independently of molt's own tar code.
 */
export interface TarEntry {
  /** Path without a leading `./` or `/`, and without a trailing `/`. */
  path: string;
  /** ustar type flag: `0` file, `1` hard link, `2` symlink, `5` dir, `3`/`4` devices, `6` fifo. */
  type: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  /** Symlink or hard-link target. */
  linkname: string;
  /** Extended attributes from pax `SCHILY.xattr.*` records (values as base64). */
  xattrs: Record<string, string>;
  devmajor: number;
  devminor: number;
  /** File content (empty for non-files). */
  data: Buffer;
}

const str = (b: Buffer, off: number, len: number): string => {
  const s = b.subarray(off, off + len);
  const nul = s.indexOf(0);
  return (nul === -1 ? s : s.subarray(0, nul)).toString("utf8");
};

/** A numeric header field: octal text, or GNU base-256 when the top bit is set. */
const num = (b: Buffer, off: number, len: number): number => {
  const f = b.subarray(off, off + len);
  if (f[0]! & 0x80) {
    let v = f[0]! & 0x7f;
    for (let i = 1; i < f.length; i++) v = v * 256 + f[i]!;
    return v;
  }
  const t = str(b, off, len).trim();
  return t === "" ? 0 : Number.parseInt(t, 8);
};

/** Parses pax extended-header records (`LEN key=value\n`). */
function paxRecords(data: Buffer): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  let i = 0;
  while (i < data.length) {
    const sp = data.indexOf(0x20, i);
    if (sp === -1) break;
    const len = Number.parseInt(data.subarray(i, sp).toString(), 10);
    if (!Number.isFinite(len) || len <= 0) break;
    const rec = data.subarray(sp + 1, i + len - 1); // drop trailing \n
    const eq = rec.indexOf(0x3d);
    out.set(rec.subarray(0, eq).toString("utf8"), rec.subarray(eq + 1));
    i += len;
  }
  return out;
}

const clean = (p: string): string =>
  p
    .replace(/^(\.\/)+/, "")
    .replace(/^\/+/, "")
    .replace(/\/+$/, "");

/** Decompresses gzip when the magic says so; everything else is taken as a plain tar. */
export function maybeGunzip(b: Buffer): Buffer {
  return b[0] === 0x1f && b[1] === 0x8b ? gunzipSync(b) : b;
}

/** Reads every entry of an (uncompressed) tar archive held in memory. */
export function readTar(buf: Buffer): TarEntry[] {
  const out: TarEntry[] = [];
  let off = 0;
  let pax: Map<string, Buffer> | undefined;
  let globalPax = new Map<string, Buffer>();
  let longName: string | undefined;
  let longLink: string | undefined;
  while (off + 512 <= buf.length) {
    const h = buf.subarray(off, off + 512);
    if (h.every((x) => x === 0)) break;
    const size = num(h, 124, 12);
    const type = String.fromCharCode(h[156] || 0x30);
    const data = buf.subarray(off + 512, off + 512 + size);
    off += 512 + Math.ceil(size / 512) * 512;
    if (type === "x") {
      pax = paxRecords(data);
      continue;
    }
    if (type === "g") {
      globalPax = new Map([...globalPax, ...paxRecords(data)]);
      continue;
    }
    if (type === "L") {
      longName = str(data, 0, data.length);
      continue;
    }
    if (type === "K") {
      longLink = str(data, 0, data.length);
      continue;
    }
    const magic = str(h, 257, 6);
    const prefix = magic.startsWith("ustar") ? str(h, 345, 155) : "";
    const rec = new Map([...globalPax, ...(pax ?? [])]);
    let path = longName ?? (prefix ? `${prefix}/${str(h, 0, 100)}` : str(h, 0, 100));
    let linkname = longLink ?? str(h, 157, 100);
    if (rec.has("path")) path = rec.get("path")!.toString("utf8");
    if (rec.has("linkpath")) linkname = rec.get("linkpath")!.toString("utf8");
    const xattrs: Record<string, string> = {};
    for (const [k, v] of rec) if (k.startsWith("SCHILY.xattr.")) xattrs[k.slice(13)] = v.toString("base64");
    const realSize = rec.has("size") ? Number(rec.get("size")!.toString()) : size;
    out.push({
      path: clean(path),
      type: type === "\0" ? "0" : type === "7" ? "0" : type,
      mode: num(h, 100, 8) & 0o7777,
      uid: rec.has("uid") ? Number(rec.get("uid")!.toString()) : num(h, 108, 8),
      gid: rec.has("gid") ? Number(rec.get("gid")!.toString()) : num(h, 116, 8),
      size: realSize,
      linkname: type === "1" ? clean(linkname) : linkname,
      xattrs,
      devmajor: num(h, 329, 8),
      devminor: num(h, 337, 8),
      data: type === "0" || type === "\0" || type === "7" ? data : Buffer.alloc(0),
    });
    pax = undefined;
    longName = undefined;
    longLink = undefined;
  }
  return out;
}
