import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { BLOCK_SIZE, BlockSink } from "../src/block-sink.js";
import { identityCompressor } from "../src/compress.js";

const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

/** A sink whose compressor passes blocks through into `out` (and hands each block back at once). */
function sinkInto(out: Buffer[]): BlockSink {
  return new BlockSink(
    identityCompressor(async (c) => {
      out.push(Buffer.from(c));
    }),
    () => undefined,
  );
}

describe("BlockSink", () => {
  it("hashes each entry's bytes apart, within a block, across a block's end and over whole blocks", async () => {
    const out: Buffer[] = [];
    const sink = sinkInto(out);
    // entry sizes: small, one that ends exactly at the first block's end, one of 2.5 blocks, small
    const sizes = [700, BLOCK_SIZE - 700, 2.5 * BLOCK_SIZE, 3];
    const digests: (string | undefined)[] = [];
    for (const [i, n] of sizes.entries()) {
      digests.push(sink.entryBoundary(true));
      await sink.push(Buffer.alloc(n, i + 1));
    }
    digests.push(sink.entryBoundary(false));
    await sink.flush();
    const all = Buffer.concat(out);
    expect(all.length).toBe(700 + (BLOCK_SIZE - 700) + 2.5 * BLOCK_SIZE + 3);
    expect(digests).toEqual([
      undefined,
      sha256(Buffer.alloc(700, 1)),
      sha256(Buffer.alloc(BLOCK_SIZE - 700, 2)),
      sha256(Buffer.alloc(2.5 * BLOCK_SIZE, 3)),
      sha256(Buffer.alloc(3, 4)),
    ]);
    expect(sink.diff.digest()).toBe(`sha256:${sha256(all)}`);
  });

  it("writes padding and zeros as zero bytes also in a block that comes back from the compressor", async () => {
    const out: Buffer[] = [];
    const sink = sinkInto(out);
    // two blocks of 0xff: both go back to the sink's pool and are used again
    await sink.push(Buffer.alloc(2 * BLOCK_SIZE, 0xff));
    sink.write(Buffer.from("abc"));
    sink.pad(509);
    await sink.zeros(BLOCK_SIZE); // to the end of this block and on into the next
    sink.write(Buffer.from("z"));
    await sink.flush();
    const tail = Buffer.concat(out).subarray(2 * BLOCK_SIZE);
    const expected = Buffer.concat([Buffer.from("abc"), Buffer.alloc(509 + BLOCK_SIZE), Buffer.from("z")]);
    expect(tail.equals(expected)).toBe(true);
  });
});
