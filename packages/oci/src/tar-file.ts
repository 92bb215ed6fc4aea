import { randomBytes } from "node:crypto";
import { type FileHandle, open, rename, rm } from "node:fs/promises";
import { TarEntrySizeError } from "./errors.js";
import { encodeTarHeader, TAR_END, tarPadding } from "./tar-header.js";

/**
 * Writes a tar archive file, atomically (temp file next to it, renamed on {@link TarFileWriter.close}).
 * Every entry gets mtime 0, uid/gid 0 and no owner names, so equal contents give equal archives.
 * Used for the docker-archive and OCI-archive outputs.
 */
export class TarFileWriter {
  #closed = false;
  private constructor(
    private readonly fh: FileHandle,
    private readonly tmp: string,
    /** The final path. */
    readonly path: string,
  ) {}

  /** Starts writing `path`. */
  static async create(path: string): Promise<TarFileWriter> {
    const tmp = `${path}.${randomBytes(6).toString("hex")}.partial`;
    return new TarFileWriter(await open(tmp, "wx", 0o644), tmp, path);
  }

  async #write(b: Uint8Array): Promise<void> {
    let off = 0;
    while (off < b.length) off += (await this.fh.write(b, off, b.length - off)).bytesWritten;
  }

  /** Adds a directory entry. */
  async addDirectory(name: string): Promise<void> {
    await this.#write(
      encodeTarHeader({ name, type: "directory", mode: 0o755, uid: 0, gid: 0, size: 0, mtimeNs: 0n }),
    );
  }

  /** Adds a regular file from memory. */
  async addFile(name: string, bytes: Uint8Array, mode = 0o644): Promise<void> {
    await this.#write(
      encodeTarHeader({ name, type: "file", mode, uid: 0, gid: 0, size: bytes.length, mtimeNs: 0n }),
    );
    await this.#write(bytes);
    await this.#write(Buffer.alloc(tarPadding(bytes.length)));
  }

  /** Adds a regular file from a stream that must give exactly `size` bytes. */
  async addStream(
    name: string,
    size: number,
    stream: AsyncIterable<Uint8Array> & { destroy?: () => void },
    signal?: AbortSignal,
  ): Promise<void> {
    await this.#write(
      encodeTarHeader({ name, type: "file", mode: 0o644, uid: 0, gid: 0, size, mtimeNs: 0n }),
    );
    let n = 0;
    for await (const chunk of stream) {
      signal?.throwIfAborted();
      const c = chunk;
      n += c.length;
      if (n > size) break;
      await this.#write(c);
    }
    if (n !== size) {
      stream.destroy?.();
      throw new TarEntrySizeError(name, n, size);
    }
    await this.#write(Buffer.alloc(tarPadding(size)));
  }

  /** Ends the archive and moves it into place. */
  async close(): Promise<void> {
    await this.#write(TAR_END);
    await this.fh.close();
    this.#closed = true;
    await rename(this.tmp, this.path);
  }

  /** Discards the partial archive. */
  async abort(): Promise<void> {
    if (!this.#closed) await this.fh.close().catch(() => undefined);
    this.#closed = true;
    await rm(this.tmp, { force: true });
  }
}
