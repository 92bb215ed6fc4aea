import { createHash } from "node:crypto";
import { mkdtemp, readdir, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import type { Digest } from "@molt/oci";
import { afterAll, beforeAll, expect, test } from "vitest";
import { type CacheEntry, DirectoryLayerCache } from "../src/index.js";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "molt-dir-cache-limit-"));
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

const sha = (b: Buffer | string) => `sha256:${createHash("sha256").update(b).digest("hex")}` as Digest;

/** An entry whose layer is `bytes` (stored as given: the cache does not care about tar here). */
function entryWith(n: number, bytes: Buffer): CacheEntry {
  return {
    key: sha(`key ${n}`),
    slot: sha(`slot ${n}`),
    step: `RUN step ${n}`,
    layer: {
      descriptor: {
        mediaType: "application/vnd.oci.image.layer.v1.tar",
        digest: sha(bytes),
        size: bytes.length,
      },
      diffId: sha(bytes),
    },
    createdBy: `RUN step ${n}`,
    inputs: [],
    // one second apart, oldest first
    created: new Date(Date.UTC(2026, 0, 1, 0, 0, n)).toISOString(),
  };
}

/** Bytes of every blob in the layout. */
async function blobBytes(): Promise<number> {
  const blobs = join(dir, "blobs", "sha256");
  let n = 0;
  for (const name of await readdir(blobs)) n += (await stat(join(blobs, name))).size;
  return n;
}

test("a cache directory with maxBytes never holds more layer bytes than the limit, oldest entries go first", async () => {
  const cache = await DirectoryLayerCache.open(dir, { maxBytes: 1000 });
  const layers = [1, 2, 3, 4].map((n) => Buffer.alloc(400, n));
  // Written concurrently, as a build writes its entries in the background.
  await Promise.all(
    layers.map(async (bytes, i) => {
      await new Promise((r) => setTimeout(r, i * 5));
      await cache.put(entryWith(i + 1, bytes), async () => Readable.from([bytes]));
    }),
  );
  // 4 × 400 bytes against a 1000-byte limit: only the two newest fit.
  expect(await blobBytes()).toBeLessThanOrEqual(1000);
  expect(await cache.get(entryWith(4, layers[3]!).key)).toBeDefined();
  expect(await cache.get(entryWith(3, layers[2]!).key)).toBeDefined();
  expect(await cache.get(entryWith(1, layers[0]!).key)).toBeUndefined();
  // A layer bigger than the whole limit is not stored, and evicts nothing.
  const big = Buffer.alloc(1500, 9);
  await cache.put(entryWith(5, big), async () => Readable.from([big]));
  expect(await cache.get(entryWith(5, big).key)).toBeUndefined();
  expect(await cache.get(entryWith(4, layers[3]!).key)).toBeDefined();
  expect(await blobBytes()).toBeLessThanOrEqual(1000);
});

test("two caches on one directory (two builds) together stay within the limit", async () => {
  const shared = await mkdtemp(join(dir, "shared-"));
  const [a, b] = await Promise.all([
    DirectoryLayerCache.open(shared, { maxBytes: 1000 }),
    DirectoryLayerCache.open(shared, { maxBytes: 1000 }),
  ]);
  const layers = [11, 12, 13, 14, 15, 16].map((n) => Buffer.alloc(450, n));
  await Promise.all(
    layers.map((bytes, i) =>
      (i % 2 ? a : b).put(entryWith(10 + i, bytes), async () => Readable.from([bytes])),
    ),
  );
  const blobs = join(shared, "blobs", "sha256");
  let n = 0;
  for (const name of await readdir(blobs)) n += (await stat(join(blobs, name))).size;
  expect(n).toBeLessThanOrEqual(1000);
});
