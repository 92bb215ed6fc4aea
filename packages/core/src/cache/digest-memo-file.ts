import { createHash, randomBytes } from "node:crypto";
import { appendFile, readFile, rename, rm, writeFile } from "node:fs/promises";
import type { StatFields } from "@molt/context-source";

/** One remembered content digest and the stat stamp it is valid for. */
export interface Remembered {
  /**
   * The stamp — size, mtimeNs, ctimeNs, ino, dev — as {@link STAMP_WORDS} 32-bit words from
   * `words[at]` on (a loaded memo's rows share one table).
   */
  words: Uint32Array;
  at: number;
  digest: string;
  /** The file's `security.capability` as hex, `""` for none; undefined when not known. */
  cap: string | undefined;
  /** The file's bytes (a small file's, read when hashed or taken from the journal), when kept. */
  bytes: Buffer | undefined;
  /**
   * Where the file's bytes are in the pack the memo was loaded with, -1 for none: the slice is
   * made only when asked, not one Buffer per row at load.
   */
  off: number;
  /** Taken from the memo's files (vouched for by its stamp in this build), not hashed in it. */
  fromFile: boolean;
  /** Not yet on disk as it is: hashed in this build, or its capability learnt in it. */
  fresh: boolean;
  /**
   * A loaded row this build's {@link DigestMemo.lookup} vouched for (set then, false at load):
   * a field every row has from the start, so setting it is no shape change (an optional one,
   * added at the first hit, moved each of 20,000 rows to a new map and a properties array).
   */
  hit: boolean;
}

/** A row as read from the memo's files (bytes and pack offset set by the caller where known). */
function loadedRow(
  words: Uint32Array,
  at: number,
  digest: string,
  cap: string | null | undefined,
): Remembered {
  return {
    words,
    at,
    digest,
    cap: cap ?? undefined,
    bytes: undefined,
    off: -1,
    fromFile: true,
    fresh: false,
    hit: false,
  };
}

/** What {@link readMemo} found. */
export interface LoadedMemo {
  rows: Map<string, Remembered>;
  /** The pack the main file names (its size and sha256 checked), if any. */
  pack: Buffer | undefined;
  /** The main file was read and is of this version: a save may append to its journal. */
  main: boolean;
  /** Lines in the journal (good or not): what a next append adds to. */
  journalLines: number;
}

/** A main file row: `[path, digest, cap or null, offset of the bytes in the pack or -1]`; its stamp is in `stamps`. */
type Row = [string, string, string | null, number];
/** A journal line: `[version, path, stamp (hex of its words), digest, cap or null, bytes (base64) or null, check]`. */
type JournalLine = [number, string, string, string, string | null, string | null, string];

/** Version of the main file and of journal lines; another version is ignored (all files hashed once). */
const VERSION = 3;

const sha256 = (b: Buffer | string) => createHash("sha256").update(b).digest("hex");
const check = (fields: readonly unknown[]) => sha256(JSON.stringify(fields)).slice(0, 16);

/** 32-bit words per stamp: five 64-bit fields. */
export const STAMP_WORDS = 10;
const scratch64 = new BigUint64Array(5);
const scratch32 = new Uint32Array(scratch64.buffer);

/**
 * The stamp of lstat fields as ten 32-bit words, in a scratch array the next call overwrites:
 * a BigInt stored into a BigUint64Array and read back as words makes no string and no object
 * (the decimal text of five BigInts cost ~1 µs a file).
 */
export function stampWords(st: StatFields): Uint32Array {
  scratch64[0] = st.size;
  scratch64[1] = st.mtimeNs;
  scratch64[2] = st.ctimeNs;
  scratch64[3] = st.ino;
  scratch64[4] = st.dev;
  return scratch32;
}

/** Whether a row's stamp is `w` (ten words, see {@link stampWords}). */
export function sameStamp(r: Remembered, w: Uint32Array): boolean {
  const { words, at } = r;
  for (let i = 0; i < STAMP_WORDS; i++) if (words[at + i] !== w[i]) return false;
  return true;
}

/** The file size a row's stamp holds. */
export function sizeOf(r: Remembered): number {
  return r.words[r.at]! + r.words[r.at + 1]! * 2 ** 32;
}

/** Words as hex of their bytes (the machine's byte order: a memo moved to another one only misses). */
function wordsHex(words: Uint32Array): string {
  return Buffer.from(words.buffer, words.byteOffset, words.byteLength).toString("hex");
}

/** Hex of whole stamps back to words; undefined when it is not `n` stamps' worth. */
function hexWords(hex: unknown, n: number): Uint32Array | undefined {
  if (typeof hex !== "string" || hex.length !== n * STAMP_WORDS * 8) return undefined;
  // Decoding stops at the first character that is not hex: a short result tells it.
  const bytes = Buffer.from(hex, "hex");
  if (bytes.length !== n * STAMP_WORDS * 4) return undefined;
  // A large Buffer has its own aligned ArrayBuffer: view it rather than copy it.
  if (bytes.byteOffset % 4 === 0 && bytes.byteLength === bytes.buffer.byteLength) {
    return new Uint32Array(bytes.buffer, bytes.byteOffset, n * STAMP_WORDS);
  }
  const words = new Uint32Array(n * STAMP_WORDS);
  new Uint8Array(words.buffer).set(bytes);
  return words;
}

/**
 * Reads the memo at `file`: the main file (`file`, JSON) with its pack (`file.pack`), then the
 * journal (`file.log`) whose lines a warm build appended (each line checked on its own: a torn
 * or garbled line is skipped, never trusted). A journal line is a fact that stays true — this
 * path with this stat stamp had this digest — so it may be applied over any main file.
 */
export async function readMemo(file: string, onBadPack: () => void): Promise<LoadedMemo> {
  const rows = new Map<string, Remembered>();
  let pack: Buffer | undefined;
  let main = false;
  try {
    const parsed = JSON.parse(await readFile(file, "utf8")) as {
      version: number;
      pack?: { size: number; sha256: string };
      stamps: string;
      entries: Row[];
    };
    const words = parsed.version === VERSION ? hexWords(parsed.stamps, parsed.entries.length) : undefined;
    if (words) {
      if (parsed.pack) {
        pack = await readFile(`${file}.pack`).catch(() => undefined);
        if (pack && (pack.length !== parsed.pack.size || sha256(pack) !== parsed.pack.sha256)) {
          onBadPack();
          pack = undefined;
        }
      }
      // An indexed loop, not destructuring through the array iterator, for 20,000 rows.
      const { entries } = parsed;
      for (let i = 0, at = 0; i < entries.length; i++, at += STAMP_WORDS) {
        const e = entries[i]!;
        const r = loadedRow(words, at, e[1], e[2]);
        const off = e[3];
        if (pack && off >= 0 && off + sizeOf(r) <= pack.length) r.off = off;
        rows.set(e[0], r);
      }
      main = true;
    }
  } catch {
    // none yet, or unreadable: every file is hashed
  }
  let journalLines = 0;
  const journal = await readFile(`${file}.log`, "utf8").catch(() => "");
  for (const text of journal.split("\n")) {
    if (text === "") continue;
    journalLines++;
    let line: JournalLine;
    try {
      line = JSON.parse(text) as JournalLine;
    } catch {
      continue;
    }
    if (!Array.isArray(line) || line.length !== 7 || line[0] !== VERSION) continue;
    if (line[6] !== check(line.slice(0, 6))) continue;
    const [, p, stamp, digest, cap, b64] = line;
    const words = hexWords(stamp, 1);
    if (!words) continue;
    const r = loadedRow(words, 0, digest, cap);
    const bytes = b64 === null ? undefined : Buffer.from(b64, "base64");
    if (bytes && bytes.length === sizeOf(r)) r.bytes = bytes;
    rows.set(p, r);
  }
  return { rows, pack, main, journalLines };
}

/**
 * Appends `rows` to the memo's journal in one write. Each line starts with a newline, so a line
 * an interrupted write left torn ends there and spoils no other.
 */
export async function appendJournal(file: string, rows: Iterable<[string, Remembered]>): Promise<void> {
  let text = "";
  for (const [p, r] of rows) {
    const fields = [
      VERSION,
      p,
      wordsHex(r.words.subarray(r.at, r.at + STAMP_WORDS)),
      r.digest,
      r.cap ?? null,
      r.bytes ? r.bytes.toString("base64") : null,
    ];
    text += `\n${JSON.stringify([...fields, check(fields)])}`;
  }
  await appendFile(`${file}.log`, text);
}

/**
 * Writes the whole memo: the pack (`pieces` in order) and the main file (`rows`, their stamps
 * `stamps` in the same order), each to a temp file
 * renamed into place, the pack first; then removes the journal, which the main file now holds.
 */
export async function writeMemo(
  file: string,
  rows: Row[],
  stamps: Uint32Array,
  pieces: Buffer[],
): Promise<void> {
  const pack = Buffer.concat(pieces);
  const tag = `${process.pid}-${randomBytes(4).toString("hex")}.tmp`;
  const tmps = [`${file}.pack.${tag}`, `${file}.${tag}`];
  try {
    await writeFile(tmps[0]!, pack);
    await rename(tmps[0]!, `${file}.pack`);
    const meta = {
      version: VERSION,
      pack: { size: pack.length, sha256: sha256(pack) },
      stamps: wordsHex(stamps),
      entries: rows,
    };
    await writeFile(tmps[1]!, JSON.stringify(meta));
    await rename(tmps[1]!, file);
    await rm(`${file}.log`, { force: true });
  } catch (e) {
    for (const t of tmps) await rm(t, { force: true }).catch(() => {});
    throw e;
  }
}

export type { Row as MemoRow };
