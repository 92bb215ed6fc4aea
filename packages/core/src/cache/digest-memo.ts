import { createHash } from "node:crypto";
import { type BigIntStats, lstatSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { join, resolve } from "node:path";
import type { ContextSource, StatFields } from "@molt/context-source";
import createDebug from "debug";
import type { BuildOptions } from "../options.js";
import { resolveCacheOptions } from "./cache-options.js";
import {
  appendJournal,
  type LoadedMemo,
  type MemoRow,
  type Remembered,
  readMemo,
  STAMP_WORDS,
  sameStamp,
  sizeOf,
  stampWords,
  writeMemo,
} from "./digest-memo-file.js";

const debug = createDebug("molt:cache:digests");

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

/**
 * Content digests of context files remembered between builds in `--cache-dir`
 * (`<cacheDir>/molt-digests/<context>.memo`), keyed by the file's stat stamp — size, mtime,
 * ctime, inode and device — so an unchanged file of a large context is not read again to key its
 * COPY: a hit compares ten 32-bit words. A file whose ctime lies within two seconds before its
 * digest was taken is not remembered (it could change again within one timestamp tick: git's
 * "racy" case), and anything that does not match exactly is hashed again. ctime cannot be set by
 * a user, so a file rewritten with its old size and mtime restored still misses.
 *
 * The bytes of small files (≤ {@link MEMO_BYTES_MAX_FILE}, 16 MiB in all) are kept beside it in
 * `<context>.memo.pack` (its size and sha256 checked on load), so a COPY of a file whose digest
 * the memo vouched for in this build's keys writes it from those bytes ({@link bytesOf}) instead
 * of opening and reading it again.
 *
 * A warm build usually appends only the rows it hashed to `<context>.memo.log` (each line
 * checked on its own; see digest-memo-file.ts); the whole memo is rewritten when there is none
 * yet or the journal grew past an eighth of it.
 */
export class DigestMemo {
  readonly #file: string;
  readonly #old: Map<string, Remembered>;
  /** The pack the memo was loaded with (its size and sha256 checked), if any. */
  readonly #pack: Buffer | undefined;
  /** Rows made in this build (hashed, or a loaded row's capability learnt); a hit row is only flagged. */
  readonly #now = new Map<string, Remembered>();
  #hits = 0;
  #bytesTaken = 0;

  /** The main file was read: a save may append to its journal instead of writing it all. */
  readonly #main: boolean;
  #journalLines: number;

  private constructor(file: string, loaded: LoadedMemo) {
    this.#file = file;
    this.#old = loaded.rows;
    this.#pack = loaded.pack;
    this.#main = loaded.main;
    this.#journalLines = loaded.journalLines;
  }

  /** Opens the memo of the context at `contextDir` under `cacheDir` and attaches it to `context`. */
  static async attach(cacheDir: string, contextDir: string, context: ContextSource): Promise<DigestMemo> {
    const dir = join(cacheDir, "molt-digests");
    const file = join(dir, `${createHash("sha256").update(contextDir).digest("hex").slice(0, 32)}.memo`);
    const loaded = await readMemo(file, () =>
      debug("digest memo's pack does not match it: no bytes from it"),
    );
    await mkdir(dir, { recursive: true });
    const memo = new DigestMemo(file, loaded);
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
   * `stat` is the lstat data a walk just took (context-source's `statFieldsOf`); without it the
   * file is lstat'ed here.
   */
  lookup(path: string, stat?: StatFields): string | undefined {
    return this.#hit(path, stat)?.digest;
  }

  /**
   * {@link lookup} and, when it hits, the capability remembered with the digest ({@link capOf}
   * of the same row, read at once: a second lookup of each of 20,000 paths cost ~10 ms a warm
   * build).
   */
  lookupWithCap(
    path: string,
    stat?: StatFields,
  ): { digest: string; cap: Buffer | null | undefined } | undefined {
    const r = this.#hit(path, stat);
    return r && { digest: r.digest, cap: capOfRow(r) };
  }

  /** The loaded row whose stamp `path` still has (flagged a hit), else undefined. */
  #hit(path: string, stat: StatFields | undefined): Remembered | undefined {
    const r = this.#old.get(path);
    if (!r) return undefined;
    if (stat === undefined) {
      let st: BigIntStats | undefined;
      try {
        st = lstatSync(path, { bigint: true, throwIfNoEntry: false });
      } catch {
        return undefined;
      }
      if (!st?.isFile()) return undefined;
      stat = st;
    }
    if (!sameStamp(r, stampWords(stat))) return undefined;
    this.#hits++;
    // A flag, not a second map: 20,000 inserts cost ~5 ms a warm build.
    r.hit = true;
    return r;
  }

  /** The row this build took (a hit) or made for `path`; a row made replaces a hit (its flag cleared). */
  #row(path: string): Remembered | undefined {
    const old = this.#old.get(path);
    return old?.hit ? old : this.#now.get(path);
  }

  /** Puts a row made in this build for `path` in place of what it took or made before. */
  #made(path: string, r: Remembered): void {
    const old = this.#old.get(path);
    if (old) old.hit = false;
    this.#now.set(path, r);
  }

  /**
   * Remembers `digest` for the file at `path`, with the stat data taken before it was read
   * (`before`) and, for a small file, the bytes read; nothing is remembered when the file changed
   * while it was read, or so shortly before that its timestamps could not tell a next change.
   */
  remember(path: string, before: BigIntStats, digest: string, bytes?: Buffer): void {
    // The file is being hashed again: whatever this build took for it is no longer vouched for.
    const old = this.#old.get(path);
    if (old) old.hit = false;
    let after: BigIntStats | undefined;
    try {
      after = lstatSync(path, { bigint: true, throwIfNoEntry: false });
    } catch {
      return;
    }
    if (!after || after.ctimeNs !== before.ctimeNs || after.size !== before.size) return;
    if (after.ctimeNs + RACY_NS > BigInt(Date.now()) * 1_000_000n) return;
    const keep = bytes && BigInt(bytes.length) === after.size && bytes.length <= MEMO_BYTES_MAX_FILE;
    this.#made(path, {
      words: Uint32Array.from(stampWords(after)),
      at: 0,
      digest,
      cap: undefined,
      bytes: keep ? bytes : undefined,
      off: -1,
      fromFile: false,
      fresh: true,
      hit: false,
    });
  }

  /**
   * The bytes of the file at `path` when the memo vouched for its digest in this build (a
   * {@link lookup} hit) and kept them, else undefined. For writing a layer: counted in
   * {@link bytesTaken}.
   */
  bytesOf(path: string): Buffer | undefined {
    const r = this.#row(path);
    if (!r?.fromFile) return undefined;
    const bytes = this.#bytesIn(r);
    if (!bytes) return undefined;
    this.#bytesTaken++;
    return bytes;
  }

  /** A row's bytes: kept when hashed, or its slice of the loaded pack. */
  #bytesIn(r: Remembered): Buffer | undefined {
    if (r.bytes || r.off < 0 || !this.#pack) return r.bytes;
    return this.#pack.subarray(r.off, r.off + sizeOf(r));
  }

  /**
   * The capability remembered with a digest this build took or made (`null`: none), undefined
   * when not known. Setting an xattr changes the ctime, so a digest hit vouches for it too.
   */
  capOf(path: string): Buffer | null | undefined {
    const r = this.#row(path);
    return r && capOfRow(r);
  }

  /** Remembers the capability read for a file whose digest this build remembered. */
  rememberCap(path: string, cap: Buffer | null): void {
    const r = this.#row(path);
    if (!r) return;
    const hex = cap ? cap.toString("hex") : "";
    // Most calls give back what capOf answered: no new row for those.
    if (r.cap !== hex) this.#made(path, { ...r, cap: hex, fresh: true, hit: false });
  }

  /**
   * Saves what this build learnt. Usually (the memo was read, its journal is still short) only
   * the rows hashed in this build are appended to the journal — nothing at all when there are
   * none: rewriting 20,000 unchanged rows cost ~30 ms at the end of every warm build. Else the
   * whole memo is written (this build's paths first, then older ones up to the bound) with its
   * pack of small files' bytes, each to a temp file renamed into place, and the journal removed.
   */
  async save(): Promise<void> {
    const fresh: [string, Remembered][] = [];
    for (const kv of this.#now) if (kv[1].fresh) fresh.push(kv);
    try {
      if (this.#main && this.#journalLines + fresh.length <= journalBound(this.#old.size)) {
        if (fresh.length > 0) await appendJournal(this.#file, fresh);
        this.#journalLines += fresh.length;
        debug(
          "%d digests added to the memo's journal (%d taken from the memo this build, %d files written from its bytes)",
          fresh.length,
          this.#hits,
          this.#bytesTaken,
        );
        return;
      }
      const rows: MemoRow[] = [];
      const stamps = new Uint32Array((this.#now.size + this.#old.size) * STAMP_WORDS);
      const pieces: Buffer[] = [];
      let packed = 0;
      const add = (p: string, r: Remembered) => {
        let off = -1;
        const bytes = this.#bytesIn(r);
        if (bytes && packed + bytes.length <= MEMO_BYTES_MAX_TOTAL) {
          off = packed;
          pieces.push(bytes);
          packed += bytes.length;
        }
        stamps.set(r.words.subarray(r.at, r.at + STAMP_WORDS), rows.length * STAMP_WORDS);
        rows.push([p, r.digest, r.cap ?? null, off]);
      };
      // This build's paths first, then older ones up to the bound.
      for (const [p, r] of this.#now) add(p, r);
      for (const [p, r] of this.#old) if (r.hit && !this.#now.has(p)) add(p, r);
      for (const [p, r] of this.#old) {
        if (rows.length >= MAX_ENTRIES) break;
        if (!r.hit && !this.#now.has(p)) add(p, r);
      }
      await writeMemo(this.#file, rows, stamps.subarray(0, rows.length * STAMP_WORDS), pieces);
      debug(
        "%d digests remembered, %d files' bytes (%d taken from the memo this build, %d files written from its bytes)",
        rows.length,
        pieces.length,
        this.#hits,
        this.#bytesTaken,
      );
    } catch (e) {
      debug("digest memo not saved: %s", (e as Error).message);
    }
  }
}

/** A row's capability: `null` for none, undefined when not known. */
function capOfRow(r: Remembered): Buffer | null | undefined {
  return r.cap === undefined ? undefined : r.cap === "" ? null : Buffer.from(r.cap, "hex");
}

/** The journal is folded into the main file once it holds more lines than this (an eighth of the rows, at least 64). */
function journalBound(rows: number): number {
  return 64 + Math.floor(rows / 8);
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
