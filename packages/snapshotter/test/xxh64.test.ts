import { randomBytes } from "node:crypto";
import { describe, expect, test } from "vitest";
import xxhash from "xxhash-wasm";
import { Xxh64 } from "../src/xxh64.js";

const P1 = 11400714785074694791n;
const P2 = 14029467366897019727n;
const P3 = 1609587929392839161n;
const P4 = 9650029242287828579n;
const P5 = 2870177450012600261n;
const M64 = (1n << 64n) - 1n;

/** xxh64 (seed 0) from its specification, in BigInt arithmetic: slow, and independent of both modules. */
function reference(bytes: Buffer): bigint {
  const rotl = (x: bigint, r: bigint) => ((x << r) | (x >> (64n - r))) & M64;
  const rnd = (acc: bigint, v: bigint) => (rotl((acc + v * P2) & M64, 31n) * P1) & M64;
  const n = bytes.length;
  let i = 0;
  let h: bigint;
  if (n >= 32) {
    const v = [(P1 + P2) & M64, P2, 0n, -P1 & M64];
    for (; i + 32 <= n; i += 32)
      for (let k = 0; k < 4; k++) v[k] = rnd(v[k]!, bytes.readBigUInt64LE(i + k * 8));
    h = (rotl(v[0]!, 1n) + rotl(v[1]!, 7n) + rotl(v[2]!, 12n) + rotl(v[3]!, 18n)) & M64;
    for (const lane of v) h = (((h ^ rnd(0n, lane)) * P1) & M64) + P4;
    h &= M64;
  } else h = P5;
  h = (h + BigInt(n)) & M64;
  for (; i + 8 <= n; i += 8) h = (rotl(h ^ rnd(0n, bytes.readBigUInt64LE(i)), 27n) * P1 + P4) & M64;
  if (i + 4 <= n) {
    h = (rotl(h ^ ((BigInt(bytes.readUInt32LE(i)) * P1) & M64), 23n) * P2 + P3) & M64;
    i += 4;
  }
  for (; i < n; i++) h = (rotl(h ^ ((BigInt(bytes[i]!) * P5) & M64), 11n) * P1) & M64;
  h = ((h ^ (h >> 33n)) * P2) & M64;
  h = ((h ^ (h >> 29n)) * P3) & M64;
  return h ^ (h >> 32n);
}

describe("xxh64 (the module written for Liftoff)", async () => {
  const ours = new Xxh64();
  const theirs = await xxhash();
  test("the specification's value for the empty input", () => {
    expect(ours.h64(Buffer.alloc(0))).toBe(0xef46db3751d8e999n);
  });

  test("one-shot: the same hash as xxhash-wasm and the specification, every length 0-300 and big ones", () => {
    const data = randomBytes(300);
    for (let n = 0; n <= 300; n++) {
      const b = data.subarray(0, n);
      const want = theirs.h64Raw(b);
      expect(ours.h64(b), `length ${n}`).toBe(want);
      expect(reference(b), `length ${n}`).toBe(want);
    }
    for (const n of [65_536, 65_537, 1_000_003, 5 << 20]) {
      const b = randomBytes(n);
      expect(ours.h64(b), `length ${n}`).toBe(theirs.h64Raw(b));
    }
  });

  test("fed in pieces of any size, several at once, with one-shot calls between: the same hash", () => {
    for (const n of [0, 1, 31, 32, 33, 95, 1000, 70_000, 300_001]) {
      const b = randomBytes(n);
      const want = theirs.h64Raw(b);
      const a = ours.create();
      const c = ours.create();
      let off = 0;
      let k = 1;
      while (off < n) {
        const len = Math.min(n - off, (k * 7919) % 40_000 || 1);
        a.update(b.subarray(off, off + len));
        ours.h64(randomBytes(k % 100)); // scratch use between updates
        c.update(b.subarray(off, off + len));
        off += len;
        k++;
      }
      expect(a.digest(), `length ${n}`).toBe(want);
      expect(c.digest(), `length ${n}`).toBe(want);
    }
  });
});
