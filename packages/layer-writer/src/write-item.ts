import { closeSync, constants as fsc, fstatSync, openSync, readSync, type Stats } from "node:fs";
import { type FileHandle, open } from "node:fs/promises";
import { type FileEntry, type TarHeader, tarPadding } from "@molt/oci";
import type { BlockSink } from "./block-sink.js";
import type { EntryRecorder } from "./entry-digests.js";
import { headerOf, type TimeRule } from "./entry-header.js";
import { FileChangedError, InvalidEntryError } from "./errors.js";
import type { PlanItem } from "./plan.js";

/** Files up to this size are read with synchronous calls (cheaper than a thread-pool round trip each). */
const SMALL_FILE = 256 * 1024;

/** An opened regular file: its descriptor (sync or async) and stat. */
type OpenedFile = { fd: number; fh?: undefined; st: Stats } | { fd?: undefined; fh: FileHandle; st: Stats };

async function openSource(path: string, source: string, sizeHint: number): Promise<OpenedFile> {
  const flags = fsc.O_RDONLY | fsc.O_NOFOLLOW | fsc.O_NONBLOCK;
  try {
    if (sizeHint <= SMALL_FILE) {
      const fd = openSync(source, flags);
      let st: Stats;
      try {
        st = fstatSync(fd);
      } catch (e) {
        closeSync(fd);
        throw e;
      }
      return { fd, st };
    }
    const fh = await open(source, flags);
    try {
      return { fh, st: await fh.stat() };
    } catch (e) {
      await fh.close();
      throw e;
    }
  } catch (e) {
    throw new FileChangedError(path, source, `cannot open: ${(e as Error).message}`, { cause: e });
  }
}

async function closeSource(f: OpenedFile): Promise<void> {
  if (f.fh) await f.fh.close();
  else closeSync(f.fd);
}

/** Copies exactly `size` bytes of an open file into the block sink. */
async function copyFile(sink: BlockSink, f: OpenedFile, size: number, path: string, source: string) {
  let pos = 0;
  while (pos < size) {
    const want = Math.min(size - pos, sink.free);
    const n = f.fh
      ? (await f.fh.read(sink.buf, sink.pos, want, pos)).bytesRead
      : readSync(f.fd, sink.buf, sink.pos, want, pos);
    if (n === 0) throw new FileChangedError(path, source, `file shrank to ${pos} bytes, expected ${size}`);
    pos += n;
    await sink.advance(n);
  }
}

async function copyStream(sink: BlockSink, entry: FileEntry, path: string, size: number) {
  let got = 0;
  for await (const chunk of entry.open!() as AsyncIterable<Buffer>) {
    got += chunk.length;
    if (got > size) throw new FileChangedError(path, undefined, `stream gave more than ${size} bytes`);
    await sink.push(chunk);
  }
  if (got !== size) throw new FileChangedError(path, undefined, `stream gave ${got} bytes, expected ${size}`);
}

const ZERO_TIME_HEADER = (path: string): TarHeader => ({
  name: path,
  type: "file",
  mode: 0,
  uid: 0,
  gid: 0,
  size: 0,
  mtimeNs: 0n,
});

/** Writes one planned item (an entry, or a whiteout) into the sink: header, then body and padding. */
export async function writeItem(
  sink: BlockSink,
  item: PlanItem,
  time: TimeRule,
  how: {
    inodes: Map<string, string> | undefined;
    recorder: EntryRecorder | undefined;
    knownBytes: ((source: string) => Buffer | undefined) | undefined;
  },
): Promise<void> {
  const { inodes, recorder, knownBytes } = how;
  /**
   * Writes an entry's header (each item writes exactly one), noting it for the recorder. The
   * sink's calls return a promise only when a block was flushed: awaited only then (a 20,000-file
   * layer would otherwise make 60,000 promises for writes that never wait).
   */
  const header = (h: TarHeader) => {
    recorder?.header(h);
    return sink.header(h);
  };
  let p: Promise<void> | undefined;
  if (item.kind !== "entry") {
    if ((p = header(ZERO_TIME_HEADER(item.path)))) await p;
    return;
  }
  const { entry, path } = item;
  if (entry.type !== "file") {
    if ((p = header(headerOf(entry, path, time)))) await p;
    return;
  }
  const data = item.data ?? entry;
  if (data.source) {
    // Bytes the caller already holds for this source (exactly the announced size): no open/read.
    // Not where the file itself decides (its size, or its inode for hard links).
    const known = inodes || item.sizeFromSource ? undefined : knownBytes?.(data.source);
    if (known && known.length === data.size) {
      if ((p = header(headerOf(entry, path, time, data.size)))) await p;
      if ((p = sink.write(known))) await p;
      if ((p = sink.pad(tarPadding(data.size)))) await p;
      return;
    }
    const f = await openSource(path, data.source, item.sizeFromSource ? SMALL_FILE + 1 : data.size);
    try {
      if (!f.st.isFile()) throw new FileChangedError(path, data.source, "no longer a regular file");
      const size = item.sizeFromSource ? f.st.size : data.size;
      if (f.st.size !== size) {
        throw new FileChangedError(path, data.source, `size is ${f.st.size}, expected ${size}`);
      }
      if (inodes && f.st.nlink > 1) {
        const key = `${f.st.dev}:${f.st.ino}`;
        const first = inodes.get(key);
        if (first !== undefined) {
          if (
            (p = header(headerOf({ ...entry, type: "hardlink", linkTarget: first, size: 0 }, path, time)))
          ) {
            await p;
          }
          return;
        }
        inodes.set(key, path);
      }
      if ((p = header(headerOf(entry, path, time, size)))) await p;
      await copyFile(sink, f, size, path, data.source);
      if ((p = sink.pad(tarPadding(size)))) await p;
    } finally {
      await closeSource(f);
    }
    return;
  }
  if (data.open) {
    if ((p = header(headerOf(entry, path, time)))) await p;
    await copyStream(sink, data, path, data.size);
    await sink.zeros(tarPadding(data.size));
    return;
  }
  if (data.size === 0) {
    if ((p = header(headerOf(entry, path, time)))) await p;
    return;
  }
  throw new InvalidEntryError(path, "regular file without `source` or `open()`");
}
