import { createHash } from "node:crypto";

/** One tar entry of a layer: its path, type flag and every byte that makes it (headers included). @internal */
export interface RawEntry {
  path: string;
  type: string;
  /** A hard link's target path, when `type` is `1`. */
  linkPath?: string;
  bytes: Buffer[];
  digest: string;
}

/** Tar block size. @internal */
export const BLOCK = 512;
/** An entry bigger than this makes `layerDelta` give up (the caller extracts the layer whole). */
const MAX_DELTA_ENTRY = 64 * 1024 * 1024;

/** Reads exact byte counts from an async stream of chunks. */
class Reader {
  readonly #it: AsyncIterator<Uint8Array>;
  #buf: Buffer = Buffer.alloc(0);
  constructor(source: AsyncIterable<Uint8Array>) {
    this.#it = source[Symbol.asyncIterator]();
  }
  async read(n: number): Promise<Buffer | null> {
    while (this.#buf.length < n) {
      const r = await this.#it.next();
      if (r.done) {
        if (this.#buf.length === 0) return null;
        throw new Error(`layer ended inside a ${n}-byte read`);
      }
      const c = Buffer.isBuffer(r.value) ? r.value : Buffer.from(r.value);
      this.#buf = this.#buf.length === 0 ? c : Buffer.concat([this.#buf, c]);
    }
    const out = this.#buf.subarray(0, n);
    this.#buf = this.#buf.subarray(n);
    return out;
  }
}

const str = (b: Buffer, off: number, len: number) => {
  const s = b.subarray(off, off + len);
  const z = s.indexOf(0);
  return (z < 0 ? s : s.subarray(0, z)).toString("utf8");
};

function octal(b: Buffer, off: number, len: number): number {
  // GNU base-256 for big sizes
  if ((b[off]! & 0x80) !== 0) {
    let v = 0;
    for (let i = off + 1; i < off + len; i++) v = v * 256 + b[i]!;
    return v;
  }
  const s = str(b, off, len).trim();
  return s === "" ? 0 : Number.parseInt(s, 8);
}

function paxRecords(body: Buffer): Map<string, string> {
  const out = new Map<string, string>();
  let i = 0;
  while (i < body.length) {
    const sp = body.indexOf(0x20, i);
    if (sp < 0) break;
    const len = Number.parseInt(body.subarray(i, sp).toString("ascii"), 10);
    if (!(len > 0)) break;
    const rec = body.subarray(sp + 1, i + len - 1).toString("utf8");
    const eq = rec.indexOf("=");
    if (eq > 0) out.set(rec.slice(0, eq), rec.slice(eq + 1));
    i += len;
  }
  return out;
}

/** A layer path as the index keys it: no `./` or `/` in front, no `/` behind. */
export function layerPath(p: string): string {
  let s = p;
  while (s.startsWith("./")) s = s.slice(2);
  while (s.startsWith("/")) s = s.slice(1);
  while (s.endsWith("/")) s = s.slice(0, -1);
  return s === "." ? "" : s;
}

/**
 * Every entry of an uncompressed tar stream with its raw bytes (the PAX or GNU long-name headers
 * before it included) and their digest. Global PAX headers make it throw: such a layer is
 * extracted whole.
 * @internal
 */
export async function* rawEntries(tar: AsyncIterable<Uint8Array>): AsyncGenerator<RawEntry> {
  const r = new Reader(tar);
  let pending: Buffer[] = [];
  let pax: Map<string, string> | undefined;
  let longName: string | undefined;
  let longLink: string | undefined;
  for (;;) {
    const h = await r.read(BLOCK);
    if (h === null) return;
    if (h.every((x) => x === 0)) return;
    const type = String.fromCharCode(h[156] || 0x30);
    const size = octal(h, 124, 12);
    const padded = Math.ceil(size / BLOCK) * BLOCK;
    if (padded > MAX_DELTA_ENTRY) throw new Error("entry too big for a delta");
    const body = padded > 0 ? await r.read(padded) : Buffer.alloc(0);
    if (body === null) throw new Error("layer ended inside an entry");
    const bytes = [...pending, h, body];
    if (type === "x" || type === "L" || type === "K") {
      const data = body.subarray(0, size);
      if (type === "x") pax = paxRecords(data);
      else if (type === "L") longName = str(data, 0, data.length);
      else longLink = str(data, 0, data.length);
      pending = bytes.map((b) => Buffer.from(b));
      continue;
    }
    if (type === "g") throw new Error("global PAX header");
    const prefix = str(h, 345, 155);
    const name = pax?.get("path") ?? longName ?? (prefix ? `${prefix}/${str(h, 0, 100)}` : str(h, 0, 100));
    const link = pax?.get("linkpath") ?? longLink ?? str(h, 157, 100);
    const hash = createHash("sha256");
    for (const b of bytes) hash.update(b);
    yield {
      path: layerPath(name),
      type,
      ...(type === "1" ? { linkPath: layerPath(link) } : {}),
      bytes,
      digest: hash.digest("hex"),
    };
    pending = [];
    pax = undefined;
    longName = undefined;
    longLink = undefined;
  }
}
