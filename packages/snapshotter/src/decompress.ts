import { spawn } from "node:child_process";
import { createHash, type Hash } from "node:crypto";
import { closeSync, openSync, ReadStream, readSync } from "node:fs";
import type { Readable } from "node:stream";
import { createGunzip } from "node:zlib";
import createDebug from "debug";
import { UnsupportedCompressionError } from "./errors.js";

const debug = createDebug("molt:snapshot");

/** Size of the buffers zlib inflates gzip layers into (see {@link openDecompressed}). */
const GUNZIP_CHUNK = 64 * 1024;

/** Compression formats recognised from a layer's first bytes. */
export type Compression = "gzip" | "zstd" | "none";

/** Tells the compression of a layer from its magic bytes. */
export function detectCompression(head: Uint8Array): Compression {
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return "gzip";
  if (head.length >= 4 && head[0] === 0x28 && head[1] === 0xb5 && head[2] === 0x2f && head[3] === 0xfd)
    return "zstd";
  return "none";
}

async function* prepend(first: Buffer[], rest: AsyncIterator<Buffer>, hash: Hash | undefined) {
  for (const b of first) {
    hash?.update(b);
    yield b;
  }
  for (;;) {
    const r = await rest.next();
    if (r.done) return;
    hash?.update(r.value);
    yield r.value;
  }
}

/** A decompressed layer: its bytes, what it was, and (after full consumption) the compressed digest. */
export interface OpenedLayer {
  compression: Compression;
  bytes: AsyncIterable<Buffer>;
  /** `sha256:<hex>` of the compressed bytes read so far (complete once `bytes` is exhausted). */
  digest(): string | undefined;
  /** Stops the decompressor and the source. */
  destroy(): void;
}

/**
 * Opens `stream` and returns its decompressed bytes. gzip is decoded with Node's zlib (on its
 * thread pool); zstd
 * (which Node 20's zlib lacks) by piping through the `zstd` program; anything else is read as a
 * plain tar. When `verify` is true the compressed bytes are hashed with sha256 on the way.
 */
export async function openDecompressed(stream: Readable, verify: boolean): Promise<OpenedLayer> {
  const file = wholeFileOf(stream);
  if (file !== undefined) {
    const opened = await fromFile(file, stream, verify);
    if (opened) return opened;
  }
  const it = stream[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  const head: Buffer[] = [];
  let have = 0;
  while (have < 4) {
    const r = await it.next();
    if (r.done) break;
    const b = Buffer.isBuffer(r.value) ? r.value : Buffer.from(r.value);
    head.push(b);
    have += b.length;
  }
  const compression = detectCompression(Buffer.concat(head));
  const hash = verify ? createHash("sha256") : undefined;
  const raw = prepend(head, it, hash);
  const digest = () => (hash ? `sha256:${hash.copy().digest("hex")}` : undefined);
  debug("layer compression: %s", compression);
  if (compression === "none") {
    return { compression, bytes: raw, digest, destroy: () => stream.destroy() };
  }
  if (compression === "gzip") {
    // Node's zlib, in this process: it inflates on libuv's thread pool, off our thread, and now
    // that creates are made by the writer thread (file-writer.ts) our thread is free between
    // chunks. Against pigz -d in a child (issue 16, Debian layer, 6 interleaved rounds, same
    // code otherwise): faster in every round (median 2.02 s against 2.48 s, load 3-5), less CPU
    // (inflate alone: 0.32 s user against pigz's 0.43-0.75 s), no process, no pipe copies.
    // 64 KiB output chunks (pigz's pipe writes are the same size): each is a fresh buffer, held
    // until the tar reader is past it. A 256 KiB chunk of a layer of tiny files held ~256 entries,
    // long enough to outlive two young-generation collections: promoted, dead, and kept until the
    // next full collection, up to V8's 64 MB of external memory (issue 16: manyfiles' peak RSS
    // 199 MiB median against 165 with 64 KiB, 4 interleaved rounds; the Debian layer extracted
    // in the same time and CPU, 0.82 s against 0.81 s, 7 interleaved rounds).
    const gunzip = createGunzip({ chunkSize: GUNZIP_CHUNK });
    const pump = (async () => {
      try {
        for await (const b of raw) if (!gunzip.write(b)) await new Promise((r) => gunzip.once("drain", r));
        gunzip.end();
      } catch (e) {
        gunzip.destroy(e as Error);
      }
    })();
    void pump;
    return {
      compression,
      bytes: gunzip as AsyncIterable<Buffer>,
      digest,
      destroy: () => {
        gunzip.destroy();
        stream.destroy();
      },
    };
  }
  // zstd: Node 20 has no zstd decoder; the zstd program does it in its own process.
  const piped = await throughProgram(
    "zstd",
    ["-d", "-c", "-q", "--no-progress"],
    raw,
    stream,
    compression,
    digest,
  );
  if (piped) return piped;
  stream.destroy();
  throw new UnsupportedCompressionError(
    "zstd",
    "the zstd program is not available; install Debian package zstd",
  );
}

/**
 * The path of `stream` when it is an `fs.ReadStream` of a whole file that nothing has read yet
 * (a layer in a blob store or on disk), else `undefined`.
 */
function wholeFileOf(stream: Readable): string | undefined {
  if (!(stream instanceof ReadStream) || typeof stream.path !== "string") return undefined;
  const { start, end } = stream as unknown as { start?: number; end?: number };
  if ((start ?? 0) !== 0 || (end !== undefined && end !== Number.POSITIVE_INFINITY)) return undefined;
  return stream.bytesRead === 0 && stream.readableLength === 0 ? stream.path : undefined;
}

/**
 * A compressed layer that is a file on disk is handed to the decompressing program as its
 * stdin, so the kernel feeds it while our thread writes files (issue 16: fed through our event
 * loop, the program waited on us and we on it, 2,600 waits for the Debian layer). Its sha256,
 * when asked for, is computed by a worker thread reading the same file. `null` when it is not
 * compressed or the program cannot be started (the caller then reads the stream as before).
 */
async function fromFile(path: string, stream: Readable, verify: boolean): Promise<OpenedLayer | null> {
  let fd: number;
  const head = Buffer.alloc(4);
  try {
    fd = openSync(path, "r");
  } catch {
    return null;
  }
  try {
    const n = readSync(fd, head, 0, 4, 0);
    const compression = detectCompression(head.subarray(0, n));
    if (compression !== "zstd") return null; // gzip: zlib, in this process (see openDecompressed)
    const programs: Array<[string, string[]]> = [["zstd", ["-d", "-c", "-q", "--no-progress"]]];
    for (const [cmd, args] of programs) {
      const hashed = verify ? hashFile(path) : undefined;
      let digest: string | undefined;
      const piped = await throughProgram(
        cmd,
        args,
        fd,
        stream,
        compression,
        () => digest,
        async () => {
          if (hashed) digest = await hashed;
        },
      );
      if (piped) {
        stream.destroy();
        debug("layer compression: %s (file %s handed to %s)", compression, path, cmd);
        return piped;
      }
      void hashed?.catch(() => {});
    }
    return null;
  } finally {
    // A spawned child holds its own copy of the descriptor.
    closeSync(fd);
  }
}

const HASH_WORKER = `
const { parentPort, workerData } = require("node:worker_threads");
const { openSync, readSync, closeSync } = require("node:fs");
const h = require("node:crypto").createHash("sha256");
const fd = openSync(workerData, "r");
const buf = Buffer.allocUnsafe(1 << 20);
try {
  for (let n; (n = readSync(fd, buf, 0, buf.length, null)) > 0; ) h.update(buf.subarray(0, n));
} finally {
  closeSync(fd);
}
parentPort.postMessage("sha256:" + h.digest("hex"));
`;

/**
 * `sha256:<hex>` of the file at `path`, computed on a worker thread. node:worker_threads is
 * imported here, not at start-up, which most builds never need (issue 16).
 */
async function hashFile(path: string): Promise<string> {
  const { Worker } = await import("node:worker_threads");
  return new Promise((resolve, reject) => {
    const w = new Worker(HASH_WORKER, { eval: true, workerData: path });
    w.once("message", (m: string) => resolve(m));
    w.once("error", reject);
    w.once("exit", (code) => {
      if (code !== 0) reject(new Error(`hashing ${path} failed (worker exit ${code})`));
    });
  });
}

/**
 * Pipes `raw` (bytes, or a file descriptor the program reads itself) through a decompressing
 * program; `null` when the program cannot be started. `finish` runs after the program's output
 * ended, before the bytes are reported done.
 */
async function throughProgram(
  cmd: string,
  args: string[],
  raw: AsyncIterable<Buffer> | number,
  stream: Readable,
  compression: Compression,
  digest: () => string | undefined,
  finish?: () => Promise<void>,
): Promise<OpenedLayer | null> {
  const child = spawn(cmd, args, {
    stdio: [typeof raw === "number" ? raw : "pipe", "pipe", "pipe"],
  }) as ReturnType<typeof spawn> & { stdout: Readable; stderr: Readable };
  const spawned = await new Promise<Error | null>((resolve) => {
    child.once("spawn", () => resolve(null));
    child.once("error", (e) => resolve(e));
  });
  if (spawned) {
    debug("%s not available (%s)", cmd, spawned.message);
    return null;
  }
  let stderr = "";
  child.stderr.on("data", (d) => {
    stderr += d;
  });
  const stdin = child.stdin;
  if (stdin && typeof raw !== "number") {
    stdin.on("error", () => {});
    void (async () => {
      try {
        for await (const b of raw) if (!stdin.write(b)) await new Promise((r) => stdin.once("drain", r));
        stdin.end();
      } catch (e) {
        child.stdout.destroy(e as Error);
        child.kill();
      }
    })();
  }
  const exited = new Promise<number | null>((resolve) => child.once("close", (code) => resolve(code)));
  async function* out(): AsyncGenerator<Buffer> {
    for await (const b of child.stdout as AsyncIterable<Buffer>) yield b;
    const code = await exited;
    if (code !== 0) throw new Error(`${cmd} ${args.join(" ")} failed (exit ${code}): ${stderr.trim()}`);
    await finish?.();
  }
  return {
    compression,
    bytes: out(),
    digest,
    destroy: () => {
      child.kill();
      stream.destroy();
    },
  };
}
