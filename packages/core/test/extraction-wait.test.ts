import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BlobStore } from "@molt/layer-writer";
import type { Digest } from "@molt/oci";
import type { Registry } from "@molt/registry-client";
import { afterAll, beforeAll, expect, test } from "vitest";
import type { LayerRef } from "../src/stage/image-state.js";
import { extractionOf, materialise } from "../src/stage/stage-fs.js";

/*
 * extractionOf: while a stage materialises a root, the layers being extracted are known (from
 * before materialise's first await), so the layer index of a COPY onto the same base waits for
 * that extraction instead of parsing the layer beside it; once it is over, nothing is marked.
 */
const dir = await mkdtemp(join(tmpdir(), "molt-extraction-wait-"));
afterAll(() => rm(dir, { recursive: true, force: true }));

let store: BlobStore;
let layer: LayerRef;
beforeAll(async () => {
  const src = join(dir, "src");
  await mkdir(join(src, "etc"), { recursive: true });
  for (let i = 0; i < 200; i++) await writeFile(join(src, "etc", `f${i}`), `file ${i}\n`);
  const tar = join(dir, "layer.tar");
  const r = spawnSync("tar", ["--numeric-owner", "-cf", tar, "-C", src, "."]);
  expect(r.status).toBe(0);
  const raw = await readFile(tar);
  const gz = spawnSync("gzip", ["-c", tar], { maxBuffer: 64 << 20 }).stdout as Buffer;
  store = await BlobStore.open(join(dir, "blobs"));
  const put = await store.put(gz);
  layer = {
    descriptor: {
      mediaType: "application/vnd.oci.image.layer.v1.tar+gzip",
      digest: put.digest,
      size: put.size,
    },
    diffId: `sha256:${createHash("sha256").update(raw).digest("hex")}` as Digest,
    origin: { kind: "store" },
  };
});

test("a materialising stage's layers are marked from its first await until its extraction is over", async () => {
  const digest = layer.descriptor.digest;
  expect(extractionOf(store, digest)).toBeUndefined();
  const from = { client: undefined as unknown as Registry, store };
  const fs = materialise(join(dir, "stage-0"), [layer], from, { mode: "walk" });
  // Marked synchronously: a COPY's index asked on the next tick already sees it.
  const marked = extractionOf(store, digest);
  expect(marked).toBeInstanceOf(Promise);
  let over = false;
  void marked!.then(() => {
    over = true;
  });
  await new Promise((r) => setImmediate(r));
  expect(over).toBe(false);
  const made = await fs;
  expect(over).toBe(true);
  expect(extractionOf(store, digest)).toBeUndefined();
  expect(made.snapshotter.baseline.get("etc/f199")?.type).toBe("file");
  await made.close();
  // Another build's store knows nothing of it.
  expect(extractionOf(await BlobStore.open(join(dir, "other")), digest)).toBeUndefined();
});

test("a failed extraction unmarks its layers too", async () => {
  const bad: LayerRef = { ...layer, diffId: `sha256:${"0".repeat(64)}` as Digest };
  const from = { client: undefined as unknown as Registry, store };
  const fs = materialise(join(dir, "stage-bad"), [bad], from, { mode: "walk" });
  expect(extractionOf(store, bad.descriptor.digest)).toBeInstanceOf(Promise);
  await expect(fs).rejects.toThrow();
  expect(extractionOf(store, bad.descriptor.digest)).toBeUndefined();
});
