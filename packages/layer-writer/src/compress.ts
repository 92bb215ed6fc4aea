import { spawn } from "node:child_process";
import { availableParallelism } from "node:os";
import { constants, crc32, createDeflateRaw, type ZlibOptions } from "node:zlib";
import createDebug from "debug";
import { CompressionError, CompressionUnavailableError } from "./errors.js";

const debug = createDebug("molt:layer");

/**
 * Where compressed bytes go, in order. The promise applies back-pressure. A sink may be called
 * again before an earlier call's promise settles (chunks are taken in call order), and a
 * rejection must also reject the later calls' promises.
 */
export type ByteSink = (chunk: Buffer) => Promise<void>;

/** A streaming compressor fed with uncompressed blocks, in order. */
export interface Compressor {
  /**
   * Feeds one block; resolves when the compressor is ready for the next one. The block must not
   * be modified until `release` is called (the compressor calls it once it no longer needs the
   * bytes, so the caller may reuse the buffer).
   */
  write(block: Buffer, release?: () => void): Promise<void>;
  /** Flushes everything to the sink. */
  end(): Promise<void>;
  /** Stops and releases resources after a failure. */
  abort(): void;
}

/** Passes blocks through unchanged (`compression: "none"`). */
export function identityCompressor(sink: ByteSink): Compressor {
  return {
    async write(block, release) {
      await sink(block);
      release?.();
    },
    end: async () => undefined,
    abort: () => undefined,
  };
}

const WINDOW = 32 * 1024;
/** gzip header with no name, mtime 0, no extra flags, OS 255 (unknown): fixed bytes, always. */
const GZIP_HEADER = Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0, 0, 0, 0, 0x00, 0xff]);
/** A final, empty fixed-Huffman deflate block: ends the stream after sync-flushed blocks. */
const FINAL_EMPTY_BLOCK = Buffer.from([0x03, 0x00]);

/**
 * zlib output buffer size per thread-pool job. Small enough that a block is deflated in many short
 * jobs (~5 ms each), so the main thread, which assembles and hashes the tar, still gets its turn on
 * a busy 2-core machine — one job per block measured 1.5x slower there — and large enough to keep
 * the round trips few. It does not change the output bytes.
 */
const OUT_CHUNK = 64 * 1024;

/**
 * Deflates one block on libuv's thread pool, keeping zlib's output chunks as they are rather than
 * concatenating them (which would allocate and copy the block's compressed bytes a second time).
 * The bytes are exactly those of `zlib.deflateRaw(block, options)`.
 */
function deflateBlock(block: Buffer, options: ZlibOptions): Promise<Buffer[]> {
  return new Promise((resolve, reject) => {
    const z = createDeflateRaw({ ...options, chunkSize: OUT_CHUNK });
    const out: Buffer[] = [];
    z.on("data", (c: Buffer) => out.push(c));
    z.once("error", reject);
    z.once("end", () => resolve(out));
    z.end(block);
  });
}

/**
 * gzip compression on every core, pigz-style: each block is deflated independently on libuv's
 * thread pool, primed with the previous block's last 32 KiB as dictionary and ended with a sync
 * flush, so the concatenation is one ordinary single-member gzip stream (ratio within a fraction
 * of a percent of `gzip -N`, and readable by every gzip reader, including ones that stop after
 * the first member). The output depends only on the input bytes, the block boundaries (fixed by
 * the caller) and the level — never on timing or core count.
 */
export function parallelGzip(
  sink: ByteSink,
  level = 6,
  maxInFlight = availableParallelism() + 1,
): Compressor {
  let crc = 0;
  let total = 0;
  let tail: Buffer | undefined;
  const pending: Promise<Buffer[]>[] = [];
  let started = false;
  let aborted = false;
  const drainOne = async () => {
    const out = await pending.shift()!;
    // issued together, awaited once: a sink may batch them (BlobWriter writes them with one writev)
    if (!aborted) await Promise.all(out.map((chunk) => sink(chunk)));
  };
  return {
    async write(block, release) {
      if (aborted) throw new CompressionError("compressor was aborted");
      if (!started) {
        started = true;
        await sink(GZIP_HEADER);
      }
      if (block.length === 0) return;
      crc = crc32(block, crc);
      total += block.length;
      const opts: ZlibOptions = { level, finishFlush: constants.Z_SYNC_FLUSH };
      if (tail) opts.dictionary = tail;
      const p = deflateBlock(block, opts);
      p.then(
        () => release?.(),
        () => undefined,
      );
      pending.push(p);
      // a copy: the block itself goes back to the caller's pool once deflated
      tail = Buffer.from(
        block.length >= WINDOW
          ? block.subarray(block.length - WINDOW)
          : Buffer.concat([tail ?? Buffer.alloc(0), block]).subarray(-WINDOW),
      );
      while (pending.length >= maxInFlight) await drainOne();
    },
    async end() {
      if (!started) {
        started = true;
        await sink(GZIP_HEADER);
      }
      while (pending.length > 0) await drainOne();
      const trailer = Buffer.alloc(8);
      trailer.writeUInt32LE(crc >>> 0, 0);
      trailer.writeUInt32LE(total % 2 ** 32, 4);
      await sink(Buffer.concat([FINAL_EMPTY_BLOCK, trailer]));
    },
    abort() {
      aborted = true;
      pending.length = 0;
    },
  };
}

/**
 * zstd compression through the `zstd` command-line tool (Node 20's zlib has no zstd), run with
 * `-T<cores>`: zstd's multi-threaded output is identical whatever the thread count, so layers stay
 * reproducible across machines.
 * @throws {@link CompressionUnavailableError} when `zstd` cannot be started.
 */
export async function zstdCompressor(sink: ByteSink, level = 3): Promise<Compressor> {
  const threads = Math.max(1, availableParallelism());
  const child = spawn("zstd", ["-q", "-c", `-${level}`, `-T${threads}`, "--no-progress"], {
    stdio: ["pipe", "pipe", "pipe"],
  });
  const stderr: Buffer[] = [];
  child.stderr.on("data", (d: Buffer) => stderr.push(d));
  await new Promise<void>((resolve, reject) => {
    child.once("spawn", () => resolve());
    child.once("error", (e) =>
      reject(new CompressionUnavailableError("zstd", "the zstd command could not be run", { cause: e })),
    );
  });
  debug("zstd started: level %d, %d threads", level, threads);
  const exited = new Promise<number>((resolve) => child.once("close", (code) => resolve(code ?? -1)));
  const pump = (async () => {
    for await (const chunk of child.stdout) await sink(chunk as Buffer);
  })();
  pump.catch(() => undefined);
  let stdinError: unknown;
  child.stdin.on("error", (e) => {
    stdinError = e;
  });
  return {
    async write(block, release) {
      if (stdinError) throw new CompressionError("zstd stopped reading", { cause: stdinError });
      if (!child.stdin.write(block, () => release?.())) {
        await new Promise<void>((resolve, reject) => {
          const onDrain = () => {
            child.off("close", onClose);
            resolve();
          };
          const onClose = () => {
            child.stdin.off("drain", onDrain);
            reject(new CompressionError(`zstd exited early: ${Buffer.concat(stderr).toString().trim()}`));
          };
          child.stdin.once("drain", onDrain);
          child.once("close", onClose);
        });
      }
    },
    async end() {
      child.stdin.end();
      const [code] = await Promise.all([exited, pump]);
      if (code !== 0) {
        throw new CompressionError(`zstd exited ${code}: ${Buffer.concat(stderr).toString().trim()}`);
      }
    },
    abort() {
      child.kill("SIGKILL");
    },
  };
}
