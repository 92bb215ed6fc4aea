import { createHash } from "node:crypto";

/**
 * What a snapshot remembers of the last layer extracted into it: per path, the digest of that
 * entry's exact tar bytes (headers, PAX records and body), and the paths the layer laid over
 * something the layers below already had.
 */
export interface LayerFingerprints {
  /** Layer path (no leading `./` or `/`, no trailing `/`) → tar type flag + sha256 hex of the entry's tar bytes. */
  entries: Record<string, string>;
  /** Paths of this layer that already existed below it (a removal of those cannot be a whiteout). */
  shadowed: string[];
}

/** One tar entry of a layer: its path, type flag and every byte that makes it (headers included). */
interface RawEntry {
  path: string;
  type: string;
  /** A hard link's target path, when `type` is `1`. */
  linkPath?: string;
  bytes: Buffer[];
  digest: string;
}

const BLOCK = 512;
/** An entry bigger than this makes {@link layerDelta} give up (the caller extracts the layer whole). */
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
 */
async function* rawEntries(tar: AsyncIterable<Uint8Array>): AsyncGenerator<RawEntry> {
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

/** A layer's fingerprints ({@link LayerFingerprints}), `has` telling which paths the layers below hold. */
export async function fingerprintLayer(
  tar: AsyncIterable<Uint8Array>,
  has: (path: string) => boolean,
): Promise<LayerFingerprints | undefined> {
  const entries: Record<string, string> = Object.create(null);
  const shadowed: string[] = [];
  try {
    for await (const e of rawEntries(tar)) {
      if (isWhiteout(e.path)) return undefined;
      // A hard link's bytes name its target only: its fingerprint follows the target's content.
      entries[e.path] = fingerprint(e, entries);
      if (has(e.path)) shadowed.push(e.path);
    }
  } catch {
    return undefined;
  }
  return { entries, shadowed };
}

/**
 * The change from the layer a snapshot holds (`old`) to a new layer over the same layers below:
 * an uncompressed tar with exactly the new layer's bytes for every entry that differs or is new
 * (and the directories above each, so their times end as a whole extraction leaves them), plus a
 * whiteout for every path that is gone. Extracting it onto the snapshot gives the tree that
 * extracting the new layer in place of the old would give. `undefined` when that cannot be told
 * safely (whiteouts or global headers in the layer, a path that changed type, a removed path
 * that lies over the layers below): the caller then extracts the layer whole.
 */
export async function layerDelta(
  tar: AsyncIterable<Uint8Array>,
  old: LayerFingerprints,
): Promise<{ tar: Buffer; changed: number; removed: number; entries: number } | undefined> {
  const oldEntries = old.entries;
  const seen = new Set<string>();
  const now: Record<string, string> = Object.create(null);
  const dirs = new Map<string, Buffer[]>();
  const changed: RawEntry[] = [];
  let count = 0;
  try {
    for await (const e of rawEntries(tar)) {
      count++;
      if (isWhiteout(e.path)) return undefined;
      const fp = fingerprint(e, now);
      now[e.path] = fp;
      seen.add(e.path);
      if (e.type === "5") dirs.set(e.path, e.bytes);
      const before = oldEntries[e.path];
      if (before !== fp) {
        // A directory that became something else, or the other way round: extract whole.
        if (before !== undefined && (before[0] === "5") !== (e.type === "5")) return undefined;
        changed.push(e);
      }
    }
  } catch {
    return undefined;
  }
  const removed = Object.keys(oldEntries).filter((p) => !seen.has(p));
  const shadowed = new Set(old.shadowed);
  for (const p of removed) {
    for (const s of shadowed) if (s === p || s.startsWith(`${p}/`)) return undefined;
  }
  // Directories above every change, parents first, then the changed entries in layer order.
  const above = new Set<string>();
  const touch = (p: string) => {
    for (let i = p.lastIndexOf("/"); i > 0; i = p.lastIndexOf("/", i - 1)) above.add(p.slice(0, i));
    if (p !== "") above.add("");
  };
  for (const e of changed) touch(e.path);
  for (const p of removed) touch(p);
  const changedPaths = new Set(changed.map((e) => e.path));
  const out: Buffer[] = [];
  for (const d of [...above].sort((a, b) => depth(a) - depth(b) || (a < b ? -1 : 1))) {
    if (changedPaths.has(d)) continue;
    const bytes = dirs.get(d);
    if (bytes) out.push(...bytes);
  }
  for (const e of changed) out.push(...e.bytes);
  // Whiteouts for the topmost removed paths (a removed directory takes what is below it).
  const gone = new Set(removed);
  for (const p of removed.sort()) {
    const parent = p.slice(0, Math.max(0, p.lastIndexOf("/")));
    if (parent !== "" && gone.has(parent)) continue;
    const name = p.slice(p.lastIndexOf("/") + 1);
    const wh = parent === "" ? `.wh.${name}` : `${parent}/.wh.${name}`;
    const header = whiteoutHeader(wh);
    if (!header) return undefined;
    out.push(header);
  }
  out.push(Buffer.alloc(BLOCK * 2));
  return { tar: Buffer.concat(out), changed: changed.length, removed: removed.length, entries: count };
}

/**
 * An entry's fingerprint: its type flag, then the digest of its bytes (for a hard link, folded
 * with its target's fingerprint, since its bytes name the target only).
 */
function fingerprint(e: RawEntry, known: Record<string, string>): string {
  if (e.linkPath === undefined) return `${e.type}${e.digest}`;
  const folded = createHash("sha256")
    .update(`${e.digest}\0${known[e.linkPath] ?? ""}`)
    .digest("hex");
  return `${e.type}${folded}`;
}

const depth = (p: string) => (p === "" ? 0 : p.split("/").length);

function isWhiteout(p: string): boolean {
  const base = p.slice(p.lastIndexOf("/") + 1);
  return base.startsWith(".wh.");
}

/** A ustar header of an empty regular file named `name` (a whiteout), or undefined when the name does not fit. */
function whiteoutHeader(name: string): Buffer | undefined {
  const h = Buffer.alloc(BLOCK);
  let prefix = "";
  let base = name;
  if (Buffer.byteLength(name) > 100) {
    const cut = name.lastIndexOf("/", 155);
    if (cut < 0) return undefined;
    prefix = name.slice(0, cut);
    base = name.slice(cut + 1);
    if (Buffer.byteLength(base) > 100 || Buffer.byteLength(prefix) > 155) return undefined;
  }
  h.write(base, 0, 100, "utf8");
  h.write("0000644\0", 100, "ascii");
  h.write("0000000\0", 108, "ascii");
  h.write("0000000\0", 116, "ascii");
  h.write("00000000000\0", 124, "ascii");
  h.write("00000000000\0", 136, "ascii");
  h.write("        ", 148, "ascii");
  h.write("0", 156, "ascii");
  h.write("ustar\0", 257, "ascii");
  h.write("00", 263, "ascii");
  if (prefix) h.write(prefix, 345, 155, "utf8");
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148, "ascii");
  return h;
}
