import { createHash, type Hash } from "node:crypto";
import { Digester, encodeTarHeader, type TarHeader, writeUstarHeader } from "@molt/oci";
import type { Compressor } from "./compress.js";

/** Size of the uncompressed blocks that are hashed and compressed in parallel. Fixed: it shapes the output. */
export const BLOCK_SIZE = 1 << 20;

/** Accumulates tar bytes into fixed-size blocks, hashing each block and feeding the compressor. */
export class BlockSink {
  readonly #pool: Buffer[] = [];
  buf: Buffer = Buffer.allocUnsafe(BLOCK_SIZE);
  pos = 0;
  total = 0;
  readonly diff = new Digester("sha256");
  /** With per-entry hashing on: the hash of the entry being written, and where in `buf` its unhashed bytes start. */
  #entryHash: Hash | undefined;
  #hashedTo = 0;
  constructor(
    private readonly compressor: Compressor,
    private readonly onBlock: () => void,
  ) {}

  get free(): number {
    return BLOCK_SIZE - this.pos;
  }

  /**
   * Writes an entry's tar header: a plain ustar header straight into the block when it fits
   * there (no Buffer per entry), else the encoded bytes (PAX headers, or a header that straddles
   * two blocks). The same bytes either way. Returns a promise only when a block was flushed.
   */
  header(h: TarHeader): Promise<void> | undefined {
    if (this.free > 512 && writeUstarHeader(h, this.buf, this.pos)) {
      this.pos += 512;
      return undefined;
    }
    return this.push(encodeTarHeader(h));
  }

  /**
   * {@link push}, without a promise when the bytes fit in the current block with room to spare
   * (the block is flushed only once full, so the output blocks are the same).
   */
  write(data: Buffer): Promise<void> | undefined {
    if (data.length >= this.free) return this.push(data);
    data.copy(this.buf, this.pos);
    this.pos += data.length;
    return undefined;
  }

  /** {@link zeros}, without a promise when they fit in the current block with room to spare. */
  pad(n: number): Promise<void> | undefined {
    if (n >= this.free) return this.zeros(n);
    if (n > 0) this.buf.fill(0, this.pos, this.pos + n);
    this.pos += n;
    return undefined;
  }

  async push(data: Buffer): Promise<void> {
    let off = 0;
    while (off < data.length) {
      const n = Math.min(data.length - off, this.free);
      data.copy(this.buf, this.pos, off, off + n);
      this.pos += n;
      off += n;
      if (this.pos === BLOCK_SIZE) await this.flush();
    }
  }

  async zeros(n: number): Promise<void> {
    while (n > 0) {
      const k = Math.min(n, this.free);
      this.buf.fill(0, this.pos, this.pos + k);
      this.pos += k;
      n -= k;
      if (this.pos === BLOCK_SIZE) await this.flush();
    }
  }

  /** Marks `n` bytes written directly into `buf` at `pos`. */
  async advance(n: number): Promise<void> {
    this.pos += n;
    if (this.pos === BLOCK_SIZE) await this.flush();
  }

  /** Offset of the next byte in the whole uncompressed stream. */
  get offset(): number {
    return this.total + this.pos;
  }

  /**
   * Entry boundary for per-entry hashing: ends the running entry's sha256 and returns it (hex),
   * undefined when none was running; with `next`, the bytes from here on go into a new one.
   */
  entryBoundary(next: boolean): string | undefined {
    let digest: string | undefined;
    if (this.#entryHash) {
      this.#entryHash.update(this.buf.subarray(this.#hashedTo, this.pos));
      digest = this.#entryHash.digest("hex");
    }
    this.#entryHash = next ? createHash("sha256") : undefined;
    this.#hashedTo = this.pos;
    return digest;
  }

  async flush(): Promise<void> {
    if (this.pos === 0) return;
    const full = this.buf;
    const block = this.pos === BLOCK_SIZE ? full : full.subarray(0, this.pos);
    if (this.#entryHash) this.#entryHash.update(block.subarray(this.#hashedTo));
    this.#hashedTo = 0;
    this.buf = this.#pool.pop() ?? Buffer.allocUnsafe(BLOCK_SIZE);
    this.pos = 0;
    this.diff.update(block);
    this.total += block.length;
    await this.compressor.write(block, () => {
      if (this.#pool.length < 4) this.#pool.push(full);
    });
    this.onBlock();
  }
}
