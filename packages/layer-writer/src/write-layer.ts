import { type Change, type Digest, MediaType, TAR_END } from "@molt/oci";
import createDebug from "debug";
import type { BlobStore } from "./blob-store.js";
import { BLOCK_SIZE, BlockSink } from "./block-sink.js";
import { type Compressor, identityCompressor, parallelGzip, zstdCompressor } from "./compress.js";
import { EntryRecorder, type WrittenEntries } from "./entry-digests.js";
import { NS_PER_S, type TimeRule } from "./entry-header.js";
import { buildPlan, type ParentLookup } from "./plan.js";
import { type ItemOptions, writeItem } from "./write-item.js";

export { BLOCK_SIZE };

const debug = createDebug("molt:layer");

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
  /** Each entry's path, type and the sha256 of its tar bytes, with {@link WriteLayerOptions.entryDigests}. */
  entryDigests?: WrittenEntries;
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
  /**
   * Also hash each tar entry's bytes apart and return them ({@link LayerResult.entryDigests}),
   * so a reader that needs per-entry digests of this layer (the snapshot store's delta) need not
   * decompress and parse it again. Costs a second sha256 pass over the tar. Default false.
   */
  entryDigests?: boolean;
  /**
   * Bytes the caller already holds for a regular file's `source` (a build's digest memo keeps
   * small context files'): when it returns exactly the entry's `size` bytes, they are written
   * instead of opening and reading the file. The caller vouches that they are the file's current
   * content. Not consulted with `detectHardlinks` or for entries sized from their source.
   */
  knownBytes?: (source: string) => Buffer | undefined;
  signal?: AbortSignal;
  /** Receives the layer's progress: planned, bytes written, written. */
  onProgress?: (e: LayerProgressEvent) => void;
}

function mediaTypeFor(c: LayerCompression): string {
  return c === "gzip" ? MediaType.OciLayerGzip : c === "zstd" ? MediaType.OciLayerZstd : MediaType.OciLayer;
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
  // with knownBytes, sources are looked up by string: kept as given (see EntryTable)
  const plan = await buildPlan(changes, {
    parents: options.parents,
    keepSources: options.knownBytes !== undefined,
  });
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
    const recorder = options.entryDigests ? new EntryRecorder() : undefined;
    const written = recorder?.written;
    const how: ItemOptions = {
      inodes: options.detectHardlinks ? inodes : undefined,
      recorder,
      knownBytes: options.knownBytes,
    };
    for (let i = 0; i < plan.length; i++) {
      signal?.throwIfAborted();
      if (written) {
        const d = sink.entryBoundary(true);
        if (d !== undefined) written.digests.push(d);
        written.offsets.push(sink.offset);
      }
      const p = writeItem(sink, plan.item(i), time, how);
      if (p) await p;
      entries++;
    }
    if (written) {
      const d = sink.entryBoundary(false);
      if (d !== undefined) written.digests.push(d);
      written.offsets.push(sink.offset);
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
      ...(written ? { entryDigests: written } : {}),
    };
    debug("layer %s (diffID %s): %d -> %d bytes", digest, diffId, uncompressedSize, size);
    onProgress?.({ type: "molt:layer:written", ...withoutEntries(result) });
    return result;
  } catch (e) {
    compressor?.abort();
    await writer.abort();
    throw e;
  }
}

/** The event's copy of a result: without the per-entry digests (tens of thousands of strings). */
function withoutEntries(r: LayerResult): LayerResult {
  if (!r.entryDigests) return r;
  const { entryDigests: _, ...rest } = r;
  return rest;
}
