import { createHash, randomBytes } from "node:crypto";
import { type BigIntStats, lstatSync } from "node:fs";
import { mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import type { ContextSource } from "@molt/context-source";
import createDebug from "debug";
import type { BuildOptions } from "../options.js";
import { resolveCacheOptions } from "./cache-options.js";

const debug = createDebug("molt:cache:digests");

/** One remembered content digest and the stat data it is valid for. */
interface Remembered {
  size: string;
  mtimeNs: string;
  ctimeNs: string;
  ino: string;
  dev: string;
  digest: string;
  /** When the digest was taken (ns since the epoch). */
  at: string;
  /** The file's `security.capability` as hex, `""` for none; absent when not known. */
  cap?: string;
}

/** A change within this long of the hashing (ns) could share its timestamps: such a memo is not trusted. */
const RACY_NS = 2_000_000_000n;
/** The memo file keeps at most this many paths (the ones of the latest build first). */
const MAX_ENTRIES = 500_000;

const memos = new WeakMap<ContextSource, DigestMemo>();

/** The memo attached to a build context, if any (see {@link DigestMemo.attach}). */
export function digestMemoOf(context: ContextSource): DigestMemo | undefined {
  return memos.get(context);
}

/**
 * Content digests of context files remembered between builds in `--cache-dir`
 * (`<cacheDir>/molt-digests/<context>.json`), keyed by the file's stat data — path, size, mtime,
 * ctime, inode and device — so an unchanged file of a large context is not read again to key its
 * COPY. A file whose ctime lies within two seconds before its digest was taken is hashed again
 * (it could have changed within one timestamp tick: git's "racy" case), and anything that does
 * not match exactly is hashed again. ctime cannot be set by a user, so a file rewritten with its
 * old size and mtime restored still misses.
 */
export class DigestMemo {
  readonly #file: string;
  readonly #old: Map<string, Remembered>;
  readonly #now = new Map<string, Remembered>();
  #hits = 0;

  private constructor(file: string, old: Map<string, Remembered>) {
    this.#file = file;
    this.#old = old;
  }

  /** Opens the memo of the context at `contextDir` under `cacheDir` and attaches it to `context`. */
  static async attach(cacheDir: string, contextDir: string, context: ContextSource): Promise<DigestMemo> {
    const dir = join(cacheDir, "molt-digests");
    const file = join(dir, `${createHash("sha256").update(contextDir).digest("hex").slice(0, 32)}.json`);
    const old = new Map<string, Remembered>();
    try {
      const parsed = JSON.parse(await readFile(file, "utf8")) as {
        version: number;
        entries: [string, Remembered][];
      };
      if (parsed.version === 1) for (const [p, r] of parsed.entries) old.set(p, r);
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

  /**
   * The remembered digest of the file at `path` when its stat data still match, else undefined.
   * `stamp` is the lstat data a walk just took (`size/mtimeNs/ctimeNs/ino/dev`, context-source's
   * `statStampOf`); without it the file is lstat'ed here.
   */
  lookup(path: string, stamp?: string): string | undefined {
    const r = this.#old.get(path);
    if (!r) return undefined;
    if (stamp !== undefined) {
      const ctimeNs = stamp.split("/")[2];
      if (
        stamp !== `${r.size}/${r.mtimeNs}/${r.ctimeNs}/${r.ino}/${r.dev}` ||
        ctimeNs === undefined ||
        BigInt(ctimeNs) + RACY_NS > BigInt(r.at)
      )
        return undefined;
      this.#hits++;
      this.#now.set(path, r);
      return r.digest;
    }
    let st: BigIntStats | undefined;
    try {
      st = lstatSync(path, { bigint: true, throwIfNoEntry: false });
    } catch {
      return undefined;
    }
    if (
      !st ||
      !st.isFile() ||
      String(st.size) !== r.size ||
      String(st.mtimeNs) !== r.mtimeNs ||
      String(st.ctimeNs) !== r.ctimeNs ||
      String(st.ino) !== r.ino ||
      String(st.dev) !== r.dev ||
      st.ctimeNs + RACY_NS > BigInt(r.at)
    )
      return undefined;
    this.#hits++;
    this.#now.set(path, r);
    return r.digest;
  }

  /**
   * Remembers `digest` for the file at `path`, with the stat data taken before it was read
   * (`before`); nothing is remembered when the file changed while it was read.
   */
  remember(path: string, before: BigIntStats, digest: string): void {
    let after: BigIntStats | undefined;
    try {
      after = lstatSync(path, { bigint: true, throwIfNoEntry: false });
    } catch {
      return;
    }
    if (!after || after.ctimeNs !== before.ctimeNs || after.size !== before.size) return;
    this.#now.set(path, {
      size: String(after.size),
      mtimeNs: String(after.mtimeNs),
      ctimeNs: String(after.ctimeNs),
      ino: String(after.ino),
      dev: String(after.dev),
      digest,
      at: String(BigInt(Date.now()) * 1_000_000n),
    });
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

  /** Writes the memo (this build's paths first, then older ones up to the bound), temp file + rename. */
  async save(): Promise<void> {
    const entries: [string, Remembered][] = [...this.#now];
    for (const [p, r] of this.#old) {
      if (entries.length >= MAX_ENTRIES) break;
      if (!this.#now.has(p)) entries.push([p, r]);
    }
    const tmp = `${this.#file}.${process.pid}-${randomBytes(4).toString("hex")}.tmp`;
    try {
      await writeFile(tmp, JSON.stringify({ version: 1, entries }));
      await rename(tmp, this.#file);
      debug("%d digests remembered (%d taken from the memo this build)", entries.length, this.#hits);
    } catch (e) {
      debug("digest memo not saved: %s", (e as Error).message);
      await rm(tmp, { force: true }).catch(() => {});
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
