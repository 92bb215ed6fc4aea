import { randomBytes } from "node:crypto";
import { createReadStream } from "node:fs";
import { type FileHandle, mkdir, open, rename, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { type Readable, Transform } from "node:stream";
import { type Digest, Digester, DigestMismatchError, parseDigest, splitDigest } from "@molt/oci";
import { BlobNotFoundError } from "./errors.js";

/** Writes every byte of `chunks`, in order, at the file's current position. */
async function writeAll(fh: FileHandle, chunks: Uint8Array[]): Promise<void> {
  let total = 0;
  for (const c of chunks) total += c.length;
  let written =
    chunks.length === 1 ? (await fh.write(chunks[0]!)).bytesWritten : (await fh.writev(chunks)).bytesWritten;
  // a short write (rare for regular files): finish chunk by chunk
  for (const c of chunks) {
    if (written >= total) break;
    if (written >= c.length) {
      written -= c.length;
      total -= c.length;
      continue;
    }
    let off = written;
    while (off < c.length) off += (await fh.write(c, off, c.length - off)).bytesWritten;
    total -= c.length;
    written = 0;
  }
}

/**
 * A blob being written to a {@link BlobStore}: bytes go to a temp file in the store while their
 * sha256 and size are computed; {@link BlobWriter.commit} renames it to its digest's path.
 */
export class BlobWriter {
  readonly #hasher = new Digester("sha256");
  #chain: Promise<void> = Promise.resolve();
  /** The batch not yet handed to the file: later chunks join it. */
  #open: { chunks: Uint8Array[]; done: Promise<void> } | undefined;
  #failed: unknown;
  #done = false;

  /** @internal */
  constructor(
    private readonly store: BlobStore,
    private readonly fh: FileHandle,
    /** Path of the temp file. */
    readonly tempPath: string,
  ) {}

  /** Bytes accepted so far. */
  get size(): number {
    return this.#hasher.size;
  }

  /**
   * Appends bytes. Hashing happens now; the disk write is queued, and the returned promise
   * resolves when it (and every earlier write) reached the file. Callers may keep several writes
   * in flight: chunks queued while a write is in progress go to the file together in one
   * `writev`. The buffer must not be modified until its promise resolves.
   */
  write(chunk: Uint8Array): Promise<void> {
    if (this.#done) return Promise.reject(new Error("BlobWriter is closed"));
    this.#hasher.update(chunk);
    const open = this.#open;
    if (open) {
      open.chunks.push(chunk);
      return open.done;
    }
    const batch: { chunks: Uint8Array[]; done: Promise<void> } = { chunks: [chunk], done: this.#chain };
    this.#open = batch;
    this.#chain = this.#chain.then(async () => {
      if (this.#open === batch) this.#open = undefined; // from here on, new chunks start a new batch
      if (this.#failed) throw this.#failed;
      await writeAll(this.fh, batch.chunks);
    });
    batch.done = this.#chain;
    this.#chain.catch((e: unknown) => {
      this.#failed ??= e;
    });
    return this.#chain;
  }

  /**
   * Finishes the blob: flushes, closes, and renames the temp file to `sha256/<hex>` (atomic; when
   * another process stored the same blob meanwhile, the result is the same bytes).
   */
  async commit(): Promise<{ digest: Digest; size: number }> {
    this.#done = true;
    try {
      await this.#chain;
      await this.fh.close();
    } catch (e) {
      await this.abort();
      throw e;
    }
    const size = this.#hasher.size;
    const digest = this.#hasher.digest();
    await this.store.adopt(this.tempPath, digest);
    return { digest, size };
  }

  /** Discards the blob: closes and removes the temp file. Safe to call more than once. */
  async abort(): Promise<void> {
    this.#done = true;
    await this.#chain.catch(() => undefined);
    await this.fh.close().catch(() => undefined);
    await rm(this.tempPath, { force: true });
  }
}

/**
 * A content-addressed blob directory: `<dir>/sha256/<hex>`, the same shape as the `blobs/`
 * directory of an OCI image layout (so `BlobStore.open("layout/blobs")` works). Writes go to a temp
 * file under `<dir>/.tmp` and are renamed into place, so readers never see partial blobs and two
 * processes sharing the directory cannot corrupt each other. Reads are verified against the digest.
 *
 * @example
 * ```ts
 * const store = await BlobStore.open("/var/cache/molt/blobs");
 * const { digest } = await store.put(Buffer.from("{}"));
 * store.openRead(digest).pipe(process.stdout);
 * ```
 */
export class BlobStore {
  private constructor(
    /** The store's root directory. */
    readonly dir: string,
  ) {}

  /** Opens (creating if needed) the store at `dir`. */
  static async open(dir: string): Promise<BlobStore> {
    await mkdir(join(dir, "sha256"), { recursive: true });
    await mkdir(join(dir, ".tmp"), { recursive: true });
    return new BlobStore(dir);
  }

  /** The path of a blob in the store (whether or not it is there). */
  path(digest: Digest): string {
    const { algorithm, hex } = splitDigest(parseDigest(digest));
    return join(this.dir, algorithm, hex);
  }

  /** True when the store holds the blob. */
  async has(digest: Digest): Promise<boolean> {
    try {
      return (await stat(this.path(digest))).isFile();
    } catch {
      return false;
    }
  }

  /** The size of a stored blob. @throws {@link BlobNotFoundError} */
  async size(digest: Digest): Promise<number> {
    try {
      return (await stat(this.path(digest))).size;
    } catch (e) {
      throw new BlobNotFoundError(digest, { cause: e });
    }
  }

  /**
   * A stream of the blob's bytes, verified as they pass: when the content does not hash to
   * `digest` the stream ends with a {@link DigestMismatchError} instead of finishing; a missing
   * blob gives a {@link BlobNotFoundError}.
   */
  openRead(digest: Digest): Readable {
    const path = this.path(digest);
    const { algorithm } = splitDigest(digest);
    const hasher = new Digester(algorithm === "sha512" ? "sha512" : "sha256");
    const verify = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        hasher.update(chunk);
        cb(null, chunk);
      },
      flush(cb) {
        const actual = hasher.digest();
        cb(actual === digest ? null : new DigestMismatchError(digest, actual, `stored blob ${path}`));
      },
    });
    const src = createReadStream(path, { highWaterMark: 1 << 20 });
    src.on("error", (e: NodeJS.ErrnoException) => {
      verify.destroy(e.code === "ENOENT" ? new BlobNotFoundError(digest, { cause: e }) : e);
    });
    return src.pipe(verify);
  }

  /** Stores bytes, returning their digest and size; an existing blob is left as is. */
  async put(bytes: Uint8Array): Promise<{ digest: Digest; size: number }> {
    const hasher = new Digester("sha256");
    hasher.update(bytes);
    const digest = hasher.digest();
    if (await this.has(digest)) return { digest, size: bytes.length };
    const w = await this.createWriter();
    try {
      await w.write(bytes);
    } catch (e) {
      await w.abort();
      throw e;
    }
    return w.commit();
  }

  /**
   * Starts writing a blob whose digest is not known yet; finish with {@link BlobWriter.commit}
   * or {@link BlobWriter.abort}.
   */
  async createWriter(): Promise<BlobWriter> {
    const tmp = join(this.dir, ".tmp", `${randomBytes(8).toString("hex")}.partial`);
    const fh = await open(tmp, "wx", 0o644);
    return new BlobWriter(this, fh, tmp);
  }

  /** @internal Moves a finished temp file to the blob path of `digest`. */
  async adopt(tempPath: string, digest: Digest): Promise<void> {
    try {
      await rename(tempPath, this.path(digest));
    } finally {
      await rm(tempPath, { force: true });
    }
  }
}
