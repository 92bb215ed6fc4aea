import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BlobStore, writeLayer } from "@molt/layer-writer";
import type { Change } from "@molt/oci";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

let work: string;
let store: BlobStore;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "molt-lw-known-"));
  store = await BlobStore.open(join(work, "blobs"));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

const file = (path: string, source: string, size: number): Change => ({
  kind: "add",
  entry: { path, type: "file", mode: 0o644, uid: 0, gid: 0, size, mtimeNs: 0n, source },
});

describe("writeLayer knownBytes", () => {
  it("writes a file from the bytes given for its source (the file is not opened), the same layer as from the file", async () => {
    const src = join(work, "a");
    await writeFile(src, "hello\n");
    const fromFile = await writeLayer([file("a", src, 6)], store, { compression: "none" });
    const asked: string[] = [];
    const known = await writeLayer([file("a", join(work, "missing"), 6)], store, {
      compression: "none",
      knownBytes: (s) => {
        asked.push(s);
        return Buffer.from("hello\n");
      },
    });
    expect(asked).toEqual([join(work, "missing")]);
    expect(known.diffId).toBe(fromFile.diffId);
  });

  it("reads the file when the bytes given are not exactly its size, and never asks with detectHardlinks", async () => {
    const src = join(work, "b");
    await writeFile(src, "world\n");
    const fromFile = await writeLayer([file("b", src, 6)], store, { compression: "none" });
    const wrong = await writeLayer([file("b", src, 6)], store, {
      compression: "none",
      knownBytes: () => Buffer.from("worl"),
    });
    expect(wrong.diffId).toBe(fromFile.diffId);
    let asked = 0;
    await writeLayer([file("b", src, 6)], store, {
      compression: "none",
      detectHardlinks: true,
      knownBytes: () => {
        asked++;
        return Buffer.from("XXXXX\n");
      },
    });
    expect(asked).toBe(0);
  });
});
