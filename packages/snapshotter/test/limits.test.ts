import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createGzip } from "node:zlib";
import * as tar from "tar-stream";
import { afterAll, describe, expect, test } from "vitest";
import { DEFAULT_EXTRACT_LIMITS, ExtractLimitError, extract, type LayerSource } from "../src/index.js";

const tmp = await mkdtemp(join(tmpdir(), "molt-snap-limits-"));
afterAll(() => rm(tmp, { recursive: true, force: true }));
let n = 0;
const fresh = () => join(tmp, `r${n++}`);

/** A gzip layer (tar-stream's packer, Node's gzip) with files of the given sizes, all zeros. */
function zeros(files: Array<[string, number]>, digest?: string): LayerSource {
  return {
    ...(digest ? { digest } : {}),
    open: () => {
      const pack = tar.pack();
      pack.on("error", () => {});
      // The extractor stops reading at the limit and destroys the stream: the producer just ends.
      void (async () => {
        for (const [name, size] of files) {
          const entry = pack.entry({ name, size, mode: 0o644 });
          entry.on("error", () => {});
          const chunk = Buffer.alloc(1024 * 1024);
          for (let left = size; left > 0; left -= chunk.length) {
            const b = left >= chunk.length ? chunk : chunk.subarray(0, left);
            if (!entry.write(b)) await new Promise<void>((r) => entry.once("drain", () => r()));
          }
          entry.end(() => {});
        }
        pack.finalize();
      })().catch(() => {});
      return pack.pipe(createGzip({ level: 1 }));
    },
  };
}

describe("extraction limits", () => {
  test("one file over the per-file limit: refused from its header, nothing of it written", async () => {
    const root = fresh();
    const err = await extract(
      [
        zeros([
          ["small", 10],
          ["huge.bin", 64 * 1024 * 1024],
        ]),
      ],
      root,
      {
        limits: { fileBytes: 1024 * 1024 },
      },
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ExtractLimitError);
    expect(err).toMatchObject({
      code: "MOLT_EXTRACT_LIMIT",
      limit: "fileBytes",
      max: 1024 * 1024,
      entry: "huge.bin",
    });
    expect((err as Error).message).toBe(
      'layer 1 at "huge.bin": extracting would write a file larger than 1 MiB (the size limit; raise it or turn limits off)',
    );
    expect(existsSync(join(root, "huge.bin"))).toBe(false);
    expect(await readFile(join(root, "small"))).toHaveLength(10);
  });

  test("the total over all layers of one call, naming the layer that crosses it", async () => {
    const root = fresh();
    const second = `sha256:${"1".repeat(64)}`;
    const err = await extract(
      [zeros([["a", 3 * 1024 * 1024]]), zeros([["b", 3 * 1024 * 1024]], second)],
      root,
      { limits: { bytes: 5 * 1024 * 1024 } },
    ).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "MOLT_EXTRACT_LIMIT", limit: "bytes", entry: "b", layer: second });
    expect((err as Error).message).toContain(
      `layer 2 (${second}) at "b": extracting would write more than 5 MiB in total`,
    );
    expect(existsSync(join(root, "b"))).toBe(false);
  });

  test("the entry count", async () => {
    const files: Array<[string, number]> = Array.from({ length: 30 }, (_, i) => [`f${i}`, 0]);
    const err = await extract([zeros(files)], fresh(), { limits: { entries: 20 } }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "MOLT_EXTRACT_LIMIT", limit: "entries", max: 20, entry: "f20" });
  });

  test("a layer within the limits extracts in full; the defaults are generous", async () => {
    const root = fresh();
    await extract([zeros([["a", 2 * 1024 * 1024]])], root, {
      limits: { bytes: 2 * 1024 * 1024, fileBytes: 2 * 1024 * 1024 },
    });
    expect(await readFile(join(root, "a"))).toHaveLength(2 * 1024 * 1024);
    expect(DEFAULT_EXTRACT_LIMITS).toEqual({
      entries: 10_000_000,
      bytes: 64 * 1024 ** 3,
      fileBytes: 16 * 1024 ** 3,
    });
  });
});
