import { createHash } from "node:crypto";
import { createReadStream, lstatSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { pipeline } from "node:stream/promises";
import { type ContextSource, statFieldsOf } from "@molt/context-source";
import type { FileEntry } from "@molt/oci";
import { readXattrs } from "@molt/snapshotter";
import { CAPABILITY_XATTR, capabilitiesOf } from "../instructions/copy-capabilities.js";
import { contextReadsOf, walkContextAll } from "./context-reads.js";
import { digestMemoOf, MEMO_BYTES_MAX_FILE } from "./digest-memo.js";
import type { KeyInput } from "./key.js";

/** How COPY/ADD sources are hashed for a key. */
export interface SourceDigestOptions {
  /** `--chmod` as a number: with `normalizeModes`, it replaces the source mode in the key. */
  chmod?: number | undefined;
  /** `--cache-normalize-modes`: hash the mode the step gives (chmod, else group/other write masked). */
  normalizeModes?: boolean;
  /** Entries to leave out (COPY --exclude), matched against paths relative to a copied directory. */
  exclude?: (relPath: string) => boolean;
  signal?: AbortSignal;
}

/** Per-file inputs are recorded (for "app/main.py content changed") up to this many entries per step. */
const MAX_FILE_INPUTS = 200;

/**
 * Key inputs for the sources a COPY/ADD reads from the build context (already filtered by
 * `.dockerignore`): for each source, one `src:<path>` input over every entry it copies (relative
 * path, type, mode, uid:gid, symlink target, content digest, the earlier name a hard link
 * shares its inode with, file capabilities; never mtime), and while the step
 * copies few entries, one `file:<path>` input per entry so a miss can name the file that changed.
 */
export async function sourceInputs(
  context: ContextSource,
  sources: readonly FileEntry[],
  options: SourceDigestOptions = {},
): Promise<KeyInput[]> {
  // First the entries (walk order), then their content digests, many files at a time.
  const groups: { top: FileEntry; items: { e: FileEntry; rel: string }[] }[] = [];
  for (const top of sources) {
    const items: { e: FileEntry; rel: string }[] = [{ e: top, rel: "" }];
    if (top.type === "directory") {
      const prefix = top.path === "" ? "" : `${top.path}/`;
      const pruned: string[] = [];
      for (const e of await walkContextAll(context, top.path, options.signal)) {
        if (e.path === top.path) continue;
        const rel = prefix && e.path.startsWith(prefix) ? e.path.slice(prefix.length) : e.path;
        if (options.exclude) {
          if (pruned.some((d) => rel.startsWith(`${d}/`))) continue;
          if (options.exclude(rel)) {
            if (e.type === "directory") pruned.push(rel);
            continue;
          }
        }
        items.push({ e, rel });
      }
    }
    groups.push({ top, items });
  }
  const all = groups.flatMap((g) => g.items);
  const memo = digestMemoOf(context);
  const reads = contextReadsOf(context);
  // The digests the memo vouches for first, synchronously; only the other files are read (many
  // at a time): a promise per file of a 20,000-file context cost ~20 ms when almost all hit.
  const contents = new Array<string>(all.length).fill("");
  // With the digest memo, a file whose digest it vouched for keeps its remembered capability
  // (`null`: none), taken with the digest; undefined: to be read.
  const hitCaps = new Array<Buffer | null | undefined>(all.length);
  const toRead: number[] = [];
  for (let i = 0; i < all.length; i++) {
    const e = all[i]!.e;
    if (e.type !== "file") continue;
    const hit =
      memo && typeof e.source === "string" ? memo.lookupWithCap(e.source, statFieldsOf(e)) : undefined;
    if (hit === undefined) toRead.push(i);
    else {
      contents[i] = hit.digest;
      hitCaps[i] = hit.cap;
      reads?.digests.set(e.source as string, hit.digest);
    }
  }
  await mapLimit(toRead, 32, async (i) => {
    contents[i] = await fileDigest(context, all[i]!.e, options.signal);
  });
  const caps = await stepCapabilities(all, hitCaps, memo, reads);
  const files: KeyInput[] = [];
  const tops: KeyInput[] = [];
  let total = 0;
  let k = 0;
  // Names of one inode become hard links in the layer (copy-core keepHardLinks), so a name's
  // link to an earlier one is part of its input. One map over the whole step: it tells apart at
  // least every case the copy's narrower link scopes tell apart.
  const inodes = new Map<string, string>();
  for (const { top, items } of groups) {
    const h = createHash("sha256");
    // The lines go into the hash in chunks: the same bytes in the same order (the same digest),
    // one native call per ~64 KiB instead of one per entry.
    let chunk = "";
    for (const { e, rel } of items) {
      const content = contents[k++]!;
      const mode = modeFor(e, options);
      let link = "";
      if (e.type === "file" && e.inode !== undefined) {
        const first = inodes.get(e.inode);
        if (first === undefined) inodes.set(e.inode, e.path);
        else link = `\0link:${first}`;
      }
      const cap = e.type === "file" && e.source !== undefined ? caps[k - 1] : undefined;
      const capText = cap ? `\0cap:${cap.toString("hex")}` : "";
      const text = `${rel}\0${e.type}\0${mode.toString(8)}\0${e.uid}:${e.gid}\0${e.linkTarget ?? ""}\0${content}${link}${capText}`;
      chunk += `${text}\n`;
      if (chunk.length >= 65536) {
        h.update(chunk);
        chunk = "";
      }
      if (e.type !== "directory" && ++total <= MAX_FILE_INPUTS)
        files.push({ name: `file:${e.path}`, digest: digestText(text) });
    }
    h.update(chunk);
    tops.push({ name: `src:${top.path === "" ? "." : top.path}`, digest: `sha256:${h.digest("hex")}` });
  }
  return total <= MAX_FILE_INPUTS ? [...files, ...tops] : tops;
}

/**
 * File capabilities are copied into the layer (copy-capabilities.ts), so they are input too:
 * each entry's (by index in `all`; undefined when not checked), put in `reads` and the memo by
 * `source` path as well. A file the memo vouched for has its capability from the same row
 * (`hitCaps`); only the others go to {@link capabilitiesOf}. The memo learns the same as when
 * it was asked about every file, in the same order, without ~20 ms of map lookups and inserts
 * a warm 20,000-file build: a hit whose capability is none is not handed back to it (it would
 * keep its row as it is).
 */
async function stepCapabilities(
  all: readonly { e: FileEntry }[],
  hitCaps: readonly (Buffer | null | undefined)[],
  memo: ReturnType<typeof digestMemoOf>,
  reads: ReturnType<typeof contextReadsOf>,
): Promise<(Buffer | null | undefined)[]> {
  const capAt = hitCaps.slice();
  const rest: FileEntry[] = [];
  for (let i = 0; i < all.length; i++) {
    const e = all[i]!.e;
    const cap = hitCaps[i];
    if (cap === undefined || typeof e.source !== "string") {
      rest.push(e);
      continue;
    }
    if (cap !== null) memo?.rememberCap(e.source, cap);
    reads?.caps.set(e.source, cap);
  }
  if (rest.length === 0) return capAt;
  const ahead =
    reads &&
    (async (paths: string[]) => {
      const reader = reads.takeXattrReader();
      return reader ? reader.read(paths) : readXattrs(paths, (name) => name === CAPABILITY_XATTR);
    });
  const read = await capabilitiesOf(rest, memo ? (source) => memo.capOf(source) : undefined, ahead);
  for (const [source, cap] of read) {
    memo?.rememberCap(source, cap);
    reads?.caps.set(source, cap);
  }
  for (let i = 0; i < all.length; i++) {
    const source = all[i]!.e.source;
    if (capAt[i] === undefined && typeof source === "string") capAt[i] = read.get(source);
  }
  return capAt;
}

/**
 * sha256 of a file's bytes: read straight from its path on disk when the context has one (the
 * digest memo was asked already: it did not know this file).
 */
async function fileDigest(
  context: ContextSource,
  e: FileEntry,
  signal: AbortSignal | undefined,
): Promise<string> {
  if (typeof e.source !== "string") return context.hash(e.path, signal ? { signal } : {});
  const onDisk = { ...e, source: e.source };
  // With --cache-dir, a file whose stat data match what it had when last hashed is not read again.
  const memo = digestMemoOf(context);
  const reads = contextReadsOf(context);
  let digest: string;
  if (memo) {
    const before = lstatSync(e.source, { bigint: true, throwIfNoEntry: false });
    let bytes: Buffer | undefined;
    ({ digest, bytes } = await readDigest(onDisk, signal));
    if (before) memo.remember(e.source, before, digest, bytes);
  } else ({ digest } = await readDigest(onDisk, signal));
  reads?.digests.set(e.source, digest);
  return digest;
}

/** sha256 of a file's bytes, read from its path on disk, and the bytes of a small file (for the memo). */
async function readDigest(
  e: FileEntry & { source: string },
  signal: AbortSignal | undefined,
): Promise<{ digest: string; bytes?: Buffer }> {
  if (e.size <= 4 * 1024 * 1024) {
    const bytes = await readFile(e.source, signal ? { signal } : {});
    const digest = `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
    return bytes.length <= MEMO_BYTES_MAX_FILE ? { digest, bytes } : { digest };
  }
  const h = createHash("sha256");
  await pipeline(createReadStream(e.source, signal ? { signal } : {}), h);
  return { digest: `sha256:${h.digest("hex")}` };
}

/** `fn` over `items` with at most `limit` running at once; results in order. */
async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

function modeFor(e: FileEntry, options: SourceDigestOptions): number {
  if (!options.normalizeModes || e.type === "symlink") return e.mode;
  return options.chmod ?? e.mode & ~0o022;
}

function digestText(text: string): string {
  return `sha256:${createHash("sha256").update(text).digest("hex")}`;
}
