import { createHash, randomBytes } from "node:crypto";
import { type BigIntStats, lstatSync } from "node:fs";
import { mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import type { ContextSource } from "@molt/context-source";
import createDebug from "debug";
import type { BuildOptions } from "../options.js";
import { resolveCacheOptions } from "./cache-options.js";

const debug = createDebug("molt:cache:digests");

/** One remembered content digest and the stat stamp it is valid for. */
interface Remembered {
  /** `size/mtimeNs/ctimeNs/ino/dev`, as context-source's `statStampOf` gives it. */
  stamp: string;
  digest: string;
  /** The file's `security.capability` as hex, `""` for none; undefined when not known. */
  cap: string | undefined;
  /** The file's bytes (a small file's, from the pack or read when hashed), when kept. */
  bytes: Buffer | undefined;
  /** Taken from the memo file (vouched for by its stamp in this build), not hashed in it. */
  fromFile: boolean;
}

/** On disk: `[path, stamp, digest, cap or null, offset of the bytes in the pack or -1]`. */
type Row = [string, string, string, string | null, number];

/** A change within this long of the hashing (ns) could share its timestamps: such a digest is not remembered. */
const RACY_NS = 2_000_000_000n;
/** The memo file keeps at most this many paths (the ones of the latest build first). */
const MAX_ENTRIES = 500_000;
/** Files up to this size keep their bytes in the memo's pack ... */
export const MEMO_BYTES_MAX_FILE = 16 * 1024;
/** ... up to this many bytes in all. */
const MEMO_BYTES_MAX_TOTAL = 16 * 1024 * 1024;

const memos = new WeakMap<ContextSource, DigestMemo>();

/** The memo attached to a build context, if any (see {@link DigestMemo.attach}). */
export function digestMemoOf(context: ContextSource): DigestMemo | undefined {
  return memos.get(context);
}

const stampOf = (st: BigIntStats) => [st.size, st.mtimeNs, st.ctimeNs, st.ino, st.dev].join("/");
const sha256 = (b: Buffer) => createHash("sha256").update(b).digest("hex");

/**
 * Content digests of context files remembered between builds in `--cache-dir`
 * (`<cacheDir>/molt-digests/<context>.memo`), keyed by the file's stat stamp — size, mtime,
 * ctime, inode and device — so an unchanged file of a large context is not read again to key its
 * COPY: a hit is one string compare. A file whose ctime lies within two seconds before its
 * digest was taken is not remembered (it could change again within one timestamp tick: git's
 * "racy" case), and anything that does not match exactly is hashed again. ctime cannot be set by
 * a user, so a file rewritten with its old size and mtime restored still misses.
 *
 * The bytes of small files (≤ {@link MEMO_BYTES_MAX_FILE}, 16 MiB in all) are kept beside it in
 * `<context>.memo.pack` (its size and sha256 checked on load), so a COPY of a file whose digest
 * the memo vouched for in this build's keys writes it from those bytes ({@link bytesOf}) instead
 * of opening and reading it again.
 */
export class DigestMemo {
  readonly #file: string;
  readonly #old: Map<string, Remembered>;
  readonly #now = new Map<string, Remembered>();
  #hits = 0;
  #bytesTaken = 0;

  private constructor(file: string, old: Map<string, Remembered>) {
    this.#file = file;
    this.#old = old;
  }

  /** Opens the memo of the context at `contextDir` under `cacheDir` and attaches it to `context`. */
  static async attach(cacheDir: string, contextDir: string, context: ContextSource): Promise<DigestMemo> {
    const dir = join(cacheDir, "molt-digests");
    const file = join(dir, `${createHash("sha256").update(contextDir).digest("hex").slice(0, 32)}.memo`);
    const old = new Map<string, Remembered>();
    try {
      const parsed = JSON.parse(await readFile(file, "utf8")) as {
        version: number;
        pack?: { size: number; sha256: string };
        entries: Row[];
      };
      if (parsed.version === 2) {
        let pack: Buffer | undefined;
        if (parsed.pack) {
          pack = await readFile(`${file}.pack`).catch(() => undefined);
          if (pack && (pack.length !== parsed.pack.size || sha256(pack) !== parsed.pack.sha256)) {
            debug("digest memo's pack does not match it: no bytes from it");
            pack = undefined;
          }
        }
        for (const [p, stamp, digest, cap, off] of parsed.entries) {
          const size = Number(stamp.slice(0, stamp.indexOf("/")));
          const bytes =
            pack && off >= 0 && off + size <= pack.length ? pack.subarray(off, off + size) : undefined;
          old.set(p, { stamp, digest, cap: cap ?? undefined, bytes, fromFile: true });
        }
      }
    } catch {
      // none yet, or unreadable: every file is hashed
    }
    await mkdir(dir, { recursive: true });
    const memo = new DigestMemo(file, old);
    memos.set(context, memo);
    return memo;
  }

  /** How many digests this build took from the memo instead of reading the file. */
  get hits(): number {
    return this.#hits;
  }

  /** How many files this build's layers were written from the memo's bytes ({@link bytesOf}). */
  get bytesTaken(): number {
    return this.#bytesTaken;
  }

  /**
   * The remembered digest of the file at `path` when its stat data still match, else undefined.
   * `stamp` is the lstat data a walk just took (`size/mtimeNs/ctimeNs/ino/dev`, context-source's
   * `statStampOf`); without it the file is lstat'ed here.
   */
  lookup(path: string, stamp?: string): string | undefined {
    const r = this.#old.get(path);
    if (!r) return undefined;
    if (stamp === undefined) {
      let st: BigIntStats | undefined;
      try {
        st = lstatSync(path, { bigint: true, throwIfNoEntry: false });
      } catch {
        return undefined;
      }
      if (!st?.isFile()) return undefined;
      stamp = stampOf(st);
    }
    if (stamp !== r.stamp) return undefined;
    this.#hits++;
    this.#now.set(path, r);
    return r.digest;
  }

  /**
   * Remembers `digest` for the file at `path`, with the stat data taken before it was read
   * (`before`) and, for a small file, the bytes read; nothing is remembered when the file changed
   * while it was read, or so shortly before that its timestamps could not tell a next change.
   */
  remember(path: string, before: BigIntStats, digest: string, bytes?: Buffer): void {
    let after: BigIntStats | undefined;
    try {
      after = lstatSync(path, { bigint: true, throwIfNoEntry: false });
    } catch {
      return;
    }
    if (!after || after.ctimeNs !== before.ctimeNs || after.size !== before.size) return;
    if (after.ctimeNs + RACY_NS > BigInt(Date.now()) * 1_000_000n) return;
    const keep = bytes && BigInt(bytes.length) === after.size && bytes.length <= MEMO_BYTES_MAX_FILE;
    this.#now.set(path, {
      stamp: stampOf(after),
      digest,
      cap: undefined,
      bytes: keep ? bytes : undefined,
      fromFile: false,
    });
  }

  /**
   * The bytes of the file at `path` when the memo vouched for its digest in this build (a
   * {@link lookup} hit) and kept them, else undefined. For writing a layer: counted in
   * {@link bytesTaken}.
   */
  bytesOf(path: string): Buffer | undefined {
    const r = this.#now.get(path);
    if (!r?.fromFile || !r.bytes) return undefined;
    this.#bytesTaken++;
    return r.bytes;
  }

  /**
   * The capability remembered with a digest this build took or made (`null`: none), undefined
   * when not known. Setting an xattr changes the ctime, so a digest hit vouches for it too.
   */
  capOf(path: string): Buffer | null | undefined {
    const cap = this.#now.get(path)?.cap;
    return cap === undefined ? undefined : cap === "" ? null : Buffer.from(cap, "hex");
  }

  /** Remembers the capability read for a file whose digest this build remembered. */
  rememberCap(path: string, cap: Buffer | null): void {
    const r = this.#now.get(path);
    if (r) this.#now.set(path, { ...r, cap: cap ? cap.toString("hex") : "" });
  }

  /**
   * Writes the memo (this build's paths first, then older ones up to the bound) and its pack of
   * small files' bytes, each to a temp file renamed into place, the pack first.
   */
  async save(): Promise<void> {
    const rows: Row[] = [];
    const pieces: Buffer[] = [];
    let packed = 0;
    const add = (p: string, r: Remembered) => {
      let off = -1;
      if (r.bytes && packed + r.bytes.length <= MEMO_BYTES_MAX_TOTAL) {
        off = packed;
        pieces.push(r.bytes);
        packed += r.bytes.length;
      }
      rows.push([p, r.stamp, r.digest, r.cap ?? null, off]);
    };
    for (const [p, r] of this.#now) add(p, r);
    for (const [p, r] of this.#old) {
      if (rows.length >= MAX_ENTRIES) break;
      if (!this.#now.has(p)) add(p, r);
    }
    const pack = Buffer.concat(pieces);
    const tag = `${process.pid}-${randomBytes(4).toString("hex")}.tmp`;
    const tmps = [`${this.#file}.pack.${tag}`, `${this.#file}.${tag}`];
    try {
      await writeFile(tmps[0]!, pack);
      await rename(tmps[0]!, `${this.#file}.pack`);
      const meta = { version: 2, pack: { size: pack.length, sha256: sha256(pack) }, entries: rows };
      await writeFile(tmps[1]!, JSON.stringify(meta));
      await rename(tmps[1]!, this.#file);
      debug(
        "%d digests remembered, %d files' bytes (%d taken from the memo this build, %d files written from its bytes)",
        rows.length,
        pieces.length,
        this.#hits,
        this.#bytesTaken,
      );
    } catch (e) {
      debug("digest memo not saved: %s", (e as Error).message);
      for (const t of tmps) await rm(t, { force: true }).catch(() => {});
    }
  }
}

/**
 * Attaches the digest memo of the build's first directory cache store to its context (a local
 * directory context only; not with a read-only cache). Returns it, to be saved when the build ends.
 */
export async function attachDigestMemo(
  options: Pick<BuildOptions, "cache" | "context" | "contextSubPath">,
  context: ContextSource,
): Promise<DigestMemo | undefined> {
  const cache = resolveCacheOptions(options.cache);
  const dir = cache.dirs[0];
  if (
    !dir ||
    cache.readOnly ||
    typeof options.context !== "string" ||
    /^[a-z][a-z0-9+.-]*:\/\//i.test(options.context)
  )
    return undefined;
  const where = `${resolve(options.context)}\0${options.contextSubPath ?? ""}`;
  return DigestMemo.attach(dir.path, where, context).catch((e) => {
    debug("no digest memo: %s", (e as Error).message);
    return undefined;
  });
}
