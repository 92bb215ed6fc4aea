import { execFileSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { extract } from "../src/index.js";

/*
 * A layer file of 8 MiB or more is decompressed by a worker thread that reads pigz's output
 * ahead (issue 16). The layer here is made by GNU tar and gzip from random bytes (so it stays
 * big compressed); what lands is compared with the bytes written.
 */
const tmp = await mkdtemp(join(tmpdir(), "molt-snap-ahead-"));
const layer = join(tmp, "big.tar.gz");
let payload: Buffer;

beforeAll(async () => {
  const src = join(tmp, "src");
  await mkdir(join(src, "d"), { recursive: true });
  payload = randomBytes(12 << 20);
  await writeFile(join(src, "d", "big.bin"), payload);
  await writeFile(join(src, "d", "small.txt"), "small\n");
  execFileSync("sh", ["-euc", `tar -C ${src} -cf - d | gzip -1 > ${layer}`]);
  expect((await stat(layer)).size).toBeGreaterThan(8 << 20);
});
afterAll(() => rm(tmp, { recursive: true, force: true }));

const sha = (b: Buffer) => createHash("sha256").update(b).digest("hex");

describe("a big layer file, read ahead by a worker", () => {
  test("extracts byte for byte, and its digest is checked", async () => {
    const digest = `sha256:${sha(await readFile(layer))}`;
    const root = join(tmp, "ok");
    const baseline = await extract([{ open: () => createReadStream(layer), digest }], root);
    expect(sha(await readFile(join(root, "d", "big.bin")))).toBe(sha(payload));
    expect(await readFile(join(root, "d", "small.txt"), "utf8")).toBe("small\n");
    expect(baseline.get("d/big.bin")?.size).toBe(12 << 20);
    await expect(
      extract(
        [{ open: () => createReadStream(layer), digest: `sha256:${"2".repeat(64)}` }],
        join(tmp, "bad"),
      ),
    ).rejects.toMatchObject({ code: "MOLT_DIGEST_MISMATCH" });
  });

  test("a truncated file fails with the decompressor's error", async () => {
    const cut = join(tmp, "cut.tar.gz");
    const bytes = await readFile(layer);
    await writeFile(cut, bytes.subarray(0, bytes.length - 4096));
    await expect(extract([{ open: () => createReadStream(cut) }], join(tmp, "cut"))).rejects.toMatchObject({
      code: "MOLT_EXTRACT_FAILED",
    });
  });

  test("an abort stops the decompressor: no process is left reading the file", async () => {
    const ac = new AbortController();
    const p = extract([{ open: () => createReadStream(layer) }], join(tmp, "aborted"), {
      signal: ac.signal,
      onProgress: (e) => {
        if (e.type === "molt:snapshot:extract-start") setTimeout(() => ac.abort(), 5);
      },
    });
    await expect(p).rejects.toMatchObject({ code: "MOLT_ABORTED" });
    await new Promise((r) => setTimeout(r, 500));
    // the decompressor is our child (spawned by the worker thread): none may be left
    const ours = execFileSync("sh", ["-c", `pgrep -P ${process.pid} -a || true`], { encoding: "utf8" });
    expect(ours).not.toMatch(/pigz|gzip/);
  });
});
