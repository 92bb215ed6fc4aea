import { createHash, randomBytes } from "node:crypto";
import { appendFile, readFile, rename, rm, writeFile } from "node:fs/promises";

/** One remembered content digest and the stat stamp it is valid for. */
export interface Remembered {
  /** `size/mtimeNs/ctimeNs/ino/dev`, as context-source's `statStampOf` gives it. */
  stamp: string;
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

/** The main file: `[path, stamp, digest, cap or null, offset of the bytes in the pack or -1]`. */
type Row = [string, string, string, string | null, number];
/** A journal line: `[version, path, stamp, digest, cap or null, bytes (base64) or null, check]`. */
type JournalLine = [number, string, string, string, string | null, string | null, string];

/** Version of the main file and of journal lines; another version is ignored (all files hashed once). */
const VERSION = 3;

const sha256 = (b: Buffer | string) => createHash("sha256").update(b).digest("hex");
const check = (fields: readonly unknown[]) => sha256(JSON.stringify(fields)).slice(0, 16);
const sizeOf = (stamp: string) => Number(stamp.slice(0, stamp.indexOf("/")));

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
      entries: Row[];
    };
    if (parsed.version === VERSION) {
      if (parsed.pack) {
        pack = await readFile(`${file}.pack`).catch(() => undefined);
        if (pack && (pack.length !== parsed.pack.size || sha256(pack) !== parsed.pack.sha256)) {
          onBadPack();
          pack = undefined;
        }
      }
      for (const [p, stamp, digest, cap, off] of parsed.entries) {
        const at = pack && off >= 0 && off + sizeOf(stamp) <= pack.length ? off : -1;
        rows.set(p, {
          stamp,
          digest,
          cap: cap ?? undefined,
          bytes: undefined,
          off: at,
          fromFile: true,
          fresh: false,
        });
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
    const [, p, stamp, digest, cap, b64] = line;
    if (line[6] !== check(line.slice(0, 6))) continue;
    let bytes = b64 === null ? undefined : Buffer.from(b64, "base64");
    if (bytes && bytes.length !== sizeOf(stamp)) bytes = undefined;
    rows.set(p, { stamp, digest, cap: cap ?? undefined, bytes, off: -1, fromFile: true, fresh: false });
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
      r.stamp,
      r.digest,
      r.cap ?? null,
      r.bytes ? r.bytes.toString("base64") : null,
    ];
    text += `\n${JSON.stringify([...fields, check(fields)])}`;
  }
  await appendFile(`${file}.log`, text);
}

/**
 * Writes the whole memo: the pack (`pieces` in order) and the main file, each to a temp file
 * renamed into place, the pack first; then removes the journal, which the main file now holds.
 */
export async function writeMemo(file: string, rows: Row[], pieces: Buffer[]): Promise<void> {
  const pack = Buffer.concat(pieces);
  const tag = `${process.pid}-${randomBytes(4).toString("hex")}.tmp`;
  const tmps = [`${file}.pack.${tag}`, `${file}.${tag}`];
  try {
    await writeFile(tmps[0]!, pack);
    await rename(tmps[0]!, `${file}.pack`);
    const meta = { version: VERSION, pack: { size: pack.length, sha256: sha256(pack) }, entries: rows };
    await writeFile(tmps[1]!, JSON.stringify(meta));
    await rename(tmps[1]!, file);
    await rm(`${file}.log`, { force: true });
  } catch (e) {
    for (const t of tmps) await rm(t, { force: true }).catch(() => {});
    throw e;
  }
}

export type { Row as MemoRow };
