/**
 * Pulls exact byte counts out of an async stream of chunks without copying more than needed.
 * Used by the tar reader so file bodies flow as slices of the decompressed chunks.
 */
export class ByteReader {
  readonly #it: AsyncIterator<Uint8Array>;
  #buf: Buffer = Buffer.alloc(0);
  #off = 0;
  #done = false;

  constructor(source: AsyncIterable<Uint8Array>) {
    this.#it = source[Symbol.asyncIterator]();
  }

  async #fill(): Promise<boolean> {
    if (this.#done) return false;
    const r = await this.#it.next();
    if (r.done) {
      this.#done = true;
      return false;
    }
    const chunk = Buffer.isBuffer(r.value) ? r.value : Buffer.from(r.value);
    const rest = this.#buf.length - this.#off;
    this.#buf = rest > 0 ? Buffer.concat([this.#buf.subarray(this.#off), chunk]) : chunk;
    this.#off = 0;
    return true;
  }

  /** Exactly `n` bytes, or `null` at a clean end of stream; throws on a truncated stream. */
  async read(n: number): Promise<Buffer | null> {
    while (this.#buf.length - this.#off < n) {
      if (!(await this.#fill())) {
        if (this.#buf.length - this.#off === 0) return null;
        throw new RangeError(`stream ended inside a ${n}-byte read`);
      }
    }
    const out = this.#buf.subarray(this.#off, this.#off + n);
    this.#off += n;
    return out;
  }

  /** Yields the next `n` bytes as one or more slices; throws if the stream ends first. */
  async *chunks(n: number): AsyncGenerator<Buffer> {
    let left = n;
    while (left > 0) {
      if (this.#buf.length - this.#off === 0 && !(await this.#fill())) {
        throw new RangeError(`stream ended with ${left} bytes of an entry missing`);
      }
      const take = Math.min(left, this.#buf.length - this.#off);
      const out = this.#buf.subarray(this.#off, this.#off + take);
      this.#off += take;
      left -= take;
      yield out;
    }
  }

  /**
   * The next `n` bytes as one slice when they are already buffered (no await, no generator:
   * issue 16, a layer of 50,000 tiny files allocated ~10 KB per entry, most of it the
   * promises and generators of reading a few hundred buffered bytes), else `undefined` and
   * nothing is consumed.
   */
  take(n: number): Buffer | undefined {
    if (this.#buf.length - this.#off < n) return undefined;
    const out = this.#buf.subarray(this.#off, this.#off + n);
    this.#off += n;
    return out;
  }

  /** Discards `n` bytes when they are already buffered and returns true; else false, nothing consumed. */
  skipBuffered(n: number): boolean {
    if (this.#buf.length - this.#off < n) return false;
    this.#off += n;
    return true;
  }

  /** Discards `n` bytes. */
  async skip(n: number): Promise<void> {
    let left = n;
    while (left > 0) {
      if (this.#buf.length - this.#off === 0 && !(await this.#fill())) {
        throw new RangeError(`stream ended with ${left} bytes of an entry missing`);
      }
      const take = Math.min(left, this.#buf.length - this.#off);
      this.#off += take;
      left -= take;
    }
  }

  /** Reads and discards everything left (so a producer process can finish). */
  async drain(): Promise<void> {
    this.#buf = Buffer.alloc(0);
    this.#off = 0;
    while (await this.#fill()) {
      this.#buf = Buffer.alloc(0);
    }
  }
}
