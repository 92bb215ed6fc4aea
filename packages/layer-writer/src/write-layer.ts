import { closeSync, constants as fsc, fstatSync, openSync, readSync, type Stats } from "node:fs";
import { type FileHandle, open } from "node:fs/promises";
import {
  type Change,
  type Digest,
  encodeTarHeader,
  type FileEntry,
  MediaType,
  TAR_END,
  type TarHeader,
  tarPadding,
} from "@molt/oci";
import createDebug from "debug";
import type { BlobStore } from "./blob-store.js";
import { BLOCK_SIZE, BlockSink } from "./block-sink.js";
import { type Compressor, identityCompressor, parallelGzip, zstdCompressor } from "./compress.js";
import { headerOf, NS_PER_S, type TimeRule } from "./entry-header.js";
import { FileChangedError, InvalidEntryError } from "./errors.js";
import { buildPlan, type ParentLookup, type PlanItem } from "./plan.js";

export { BLOCK_SIZE };

const debug = createDebug("molt:layer");

/** Files up to this size are read with synchronous calls (cheaper than a thread-pool round trip each). */
const SMALL_FILE = 256 * 1024;

/** What {@link writeLayer} produced. */
export interface LayerResult {
  /** Digest of the stored (compressed) blob. */
  digest: Digest;
  /** Digest of the uncompressed tar (the config's `rootfs.diff_ids` entry). */
  diffId: Digest;
  /** Size of the stored blob. */
  size: number;
  /** Size of the uncompressed tar. */
  uncompressedSize: number;
  /** OCI layer media type matching the compression (`…tar+gzip`, `…tar+zstd`, `…tar`). */
  mediaType: string;
  /** Number of tar entries written (files, directories, whiteouts, …; PAX headers not counted). */
  entries: number;
  /** The compression used. */
  compression: LayerCompression;
}

/** Layer compressions molt can write. */
export type LayerCompression = "gzip" | "zstd" | "none";

/**
 * Progress of {@link writeLayer}, named `molt:layer:<what>` like every part's events (the whole
 * union a build emits is documented in `@molt/core`'s `events` module).
 */
export type LayerProgressEvent =
  | { type: "molt:layer:planned"; entries: number }
  | { type: "molt:layer:progress"; entries: number; uncompressedBytes: number; compressedBytes: number }
  | ({ type: "molt:layer:written" } & LayerResult);

/** Options of {@link writeLayer}. */
export interface WriteLayerOptions {
  /** Default `"gzip"`. zstd runs the `zstd` CLI (Node 20 has no zstd). */
  compression?: LayerCompression;
  /** gzip level 0–9 (default 6) or zstd level 1–19 (default 3). */
  level?: number;
  /**
   * Reproducible mode: every mtime later than this time (seconds since the epoch) is clamped to
   * it, as `SOURCE_DATE_EPOCH` asks. The gzip header is always fixed (mtime 0, no name).
   */
  sourceDateEpoch?: number;
  /**
   * Where missing parent directories come from (so their mode and owner survive, as Docker
   * does). Without it, only the directories present in `changes` are written.
   */
  parents?: ParentLookup;
  /**
   * Also turn regular files that share an inode on disk (`entry.source` with the same
   * device+inode) into hardlinks of the first one in tar order, for RUN snapshots. COPY does not
   * need it: it gives its links as `hardlink` entries itself, per copy action. Default false.
   */
  detectHardlinks?: boolean;
  /**
   * Keep sub-second mtimes (`"nanosecond"`), written as PAX records. Default `"second"`: mtimes
   * are truncated to whole seconds, as Docker's and BuildKit's tar writers do, so an ordinary
   * entry needs no PAX header at all (a 512-byte ustar block instead of three blocks).
   */
  mtimePrecision?: "second" | "nanosecond";
  signal?: AbortSignal;
  /** Receives the layer's progress: planned, bytes written, written. */
  onProgress?: (e: LayerProgressEvent) => void;
}

function mediaTypeFor(c: LayerCompression): string {
  return c === "gzip" ? MediaType.OciLayerGzip : c === "zstd" ? MediaType.OciLayerZstd : MediaType.OciLayer;
}

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

/**
 * Writes the changes as one layer into `store`: a sorted, deterministic tar (see
 * {@link planLayer}), compressed, with diffID, digest and size computed in the same single pass
 * that writes the blob — no uncompressed temp copy, memory bounded by a few MiB whatever the
 * layer size. gzip runs on every core ({@link parallelGzip}); several `writeLayer` calls may run
 * at once and share the thread pool.
 *
 * File bytes come from `entry.source` (opened with `O_NOFOLLOW`, checked to still be a regular
 * file of the announced size) or `entry.open()`.
 *
 * @example
 * ```ts
 * const store = await BlobStore.open("blobs");
 * const layer = await writeLayer(
 *   [{ kind: "add", entry: { path: "hello.txt", type: "file", mode: 0o644, uid: 0, gid: 0, size: 6,
 *      mtimeNs: 0n, source: "/tmp/hello.txt" } }, { kind: "delete", path: "etc/motd" }],
 *   store,
 *   { compression: "gzip", sourceDateEpoch: 0 },
 * );
 * // layer.digest, layer.diffId, layer.size, layer.mediaType
 * ```
 * @throws {@link InvalidEntryError}, {@link FileChangedError}, {@link CompressionUnavailableError},
 * {@link CompressionError}; the signal's reason when aborted. Nothing is left in the store on failure.
 */
export async function writeLayer(
  changes: Iterable<Change> | AsyncIterable<Change>,
  store: BlobStore,
  options: WriteLayerOptions = {},
): Promise<LayerResult> {
  const { signal, onProgress } = options;
  signal?.throwIfAborted();
  const compression = options.compression ?? "gzip";
  const time: TimeRule = {
    clampNs:
      options.sourceDateEpoch !== undefined
        ? BigInt(Math.floor(options.sourceDateEpoch)) * NS_PER_S
        : undefined,
    wholeSeconds: (options.mtimePrecision ?? "second") === "second",
  };
  const plan = await buildPlan(changes, { parents: options.parents });
  onProgress?.({ type: "molt:layer:planned", entries: plan.length });
  debug("layer: %d entries, %s", plan.length, compression);

  const writer = await store.createWriter();
  const sinkBytes = (chunk: Buffer) => writer.write(chunk);
  let compressor: Compressor | undefined;
  try {
    compressor =
      compression === "gzip"
        ? parallelGzip(sinkBytes, options.level ?? 6)
        : compression === "zstd"
          ? await zstdCompressor(sinkBytes, options.level ?? 3)
          : identityCompressor(sinkBytes);
    let entries = 0;
    const sink = new BlockSink(compressor, () =>
      onProgress?.({
        type: "molt:layer:progress",
        entries,
        uncompressedBytes: sink.total,
        compressedBytes: writer.size,
      }),
    );
    const inodes = new Map<string, string>();
    for (let i = 0; i < plan.length; i++) {
      signal?.throwIfAborted();
      await writeItem(sink, plan.item(i), time, options.detectHardlinks ? inodes : undefined);
      entries++;
    }
    await sink.push(TAR_END);
    await sink.flush();
    await compressor.end();
    const uncompressedSize = sink.total;
    const diffId = sink.diff.digest();
    signal?.throwIfAborted();
    const { digest, size } = await writer.commit();
    const result: LayerResult = {
      digest: compression === "none" ? diffId : digest,
      diffId,
      size,
      uncompressedSize,
      mediaType: mediaTypeFor(compression),
      entries,
      compression,
    };
    debug("layer %s (diffID %s): %d -> %d bytes", digest, diffId, uncompressedSize, size);
    onProgress?.({ type: "molt:layer:written", ...result });
    return result;
  } catch (e) {
    compressor?.abort();
    await writer.abort();
    throw e;
  }
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

async function writeItem(
  sink: BlockSink,
  item: PlanItem,
  time: TimeRule,
  inodes: Map<string, string> | undefined,
): Promise<void> {
  if (item.kind !== "entry") {
    await sink.push(encodeTarHeader(ZERO_TIME_HEADER(item.path)));
    return;
  }
  const { entry, path } = item;
  if (entry.type !== "file") {
    await sink.push(encodeTarHeader(headerOf(entry, path, time)));
    return;
  }
  const data = item.data ?? entry;
  if (data.source) {
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
          const h = headerOf({ ...entry, type: "hardlink", linkTarget: first, size: 0 }, path, time);
          await sink.push(encodeTarHeader(h));
          return;
        }
        inodes.set(key, path);
      }
      await sink.push(encodeTarHeader(headerOf({ ...entry, size }, path, time)));
      await copyFile(sink, f, size, path, data.source);
      await sink.zeros(tarPadding(size));
    } finally {
      await closeSource(f);
    }
    return;
  }
  if (data.open) {
    await sink.push(encodeTarHeader(headerOf(entry, path, time)));
    await copyStream(sink, data, path, data.size);
    await sink.zeros(tarPadding(data.size));
    return;
  }
  if (data.size === 0) {
    await sink.push(encodeTarHeader(headerOf(entry, path, time)));
    return;
  }
  throw new InvalidEntryError(path, "regular file without `source` or `open()`");
}
