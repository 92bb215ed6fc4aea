import { createHash } from "node:crypto";
import { appendFile, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { endianness, tmpdir } from "node:os";
import { join } from "node:path";
import { openContext } from "@molt/context-source";
import type { FileEntry } from "@molt/oci";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { sourceInputs } from "../src/cache/content-digest.js";
import { attachDigestMemo } from "../src/cache/digest-memo.js";

// The memo's journal (digest-memo-file.ts): a warm build appends only the rows it hashed.

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "molt-digest-journal-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const sha = (s: string) => `sha256:${createHash("sha256").update(s).digest("hex")}`;
const racyWindow = () => new Promise((r) => setTimeout(r, 2100));

/** Keys `COPY files/` of `ctx` with the memo of `cacheDir` and saves it; returns its inputs and hits. */
async function keyOf(ctx: string, cacheDir: string): Promise<{ inputs: string; hits: number }> {
  const context = await openContext(ctx);
  const options = { context: ctx, cache: { stores: [{ type: "directory" as const, path: cacheDir }] } };
  const memo = await attachDigestMemo(options, context);
  const inputs = await sourceInputs(context, [(await context.stat("files")) as FileEntry]);
  await memo?.save();
  return { inputs: JSON.stringify(inputs), hits: memo?.hits ?? 0 };
}

const memoFiles = async (cacheDir: string) =>
  (await readdir(join(cacheDir, "molt-digests"))).map((f) => f.replace(/^[0-9a-f]{32}/, "")).sort();

describe("digest memo journal", () => {
  test("a warm build appends the one file it hashed; the next build trusts it, bytes included; an unchanged build writes nothing", async () => {
    const ctx = join(dir, "ctx");
    const cacheDir = join(dir, "cache");
    await mkdir(join(ctx, "files"), { recursive: true });
    for (const n of ["a", "b", "c"]) await writeFile(join(ctx, "files", n), n.repeat(4));
    await racyWindow();
    await keyOf(ctx, cacheDir);
    expect(await memoFiles(cacheDir)).toEqual([".memo", ".memo.pack"]);

    await writeFile(join(ctx, "files/a"), "AAAAA");
    await racyWindow();
    const second = await keyOf(ctx, cacheDir);
    expect(second.hits).toBe(2);
    expect(await memoFiles(cacheDir)).toEqual([".memo", ".memo.log", ".memo.pack"]);
    const log = join(
      cacheDir,
      "molt-digests",
      (await readdir(join(cacheDir, "molt-digests"))).find((f) => f.endsWith(".log"))!,
    );
    const lines = (await readFile(log, "utf8")).split("\n").filter(Boolean);
    expect(lines).toHaveLength(1);
    const line = JSON.parse(lines[0]!) as unknown[];
    expect(line.slice(0, 5)).toEqual([
      3,
      join(ctx, "files/a"),
      expect.stringMatching(/^[0-9a-f]{80}$/),
      sha("AAAAA"),
      "", // its capability was checked: none
    ]);
    // The stamp: size, mtime, ctime, inode, device as 64-bit words in the machine's order.
    const words = Buffer.from(line[2] as string, "hex");
    const st = await stat(join(ctx, "files/a"), { bigint: true });
    const read = (i: number) =>
      endianness() === "LE" ? words.readBigUInt64LE(i * 8) : words.readBigUInt64BE(i * 8);
    expect([0, 1, 2, 3, 4].map(read)).toEqual([5n, st.mtimeNs, st.ctimeNs, st.ino, st.dev]);
    // The file's bytes ride along, base64.
    expect(line[5]).toBe(Buffer.from("AAAAA").toString("base64"));

    const third = await keyOf(ctx, cacheDir);
    expect(third.hits).toBe(3);
    expect(third.inputs).toBe(second.inputs);
    expect(third.inputs).toBe((await keyOf(ctx, join(dir, "no-memo"))).inputs);
    // Nothing new: the journal is not touched.
    expect((await readFile(log, "utf8")).split("\n").filter(Boolean)).toHaveLength(1);

    const options = { context: ctx, cache: { stores: [{ type: "directory" as const, path: cacheDir }] } };
    const memo = (await attachDigestMemo(options, await openContext(ctx)))!;
    expect(memo.lookup(join(ctx, "files/a"))).toBe(sha("AAAAA"));
    expect(memo.bytesOf(join(ctx, "files/a"))?.toString()).toBe("AAAAA");
  }, 30_000);

  test("a torn, garbled or forged journal line is not trusted", async () => {
    const ctx = join(dir, "ctx");
    const cacheDir = join(dir, "cache");
    await mkdir(join(ctx, "files"), { recursive: true });
    await writeFile(join(ctx, "files/a"), "aaaa");
    await racyWindow();
    const first = await keyOf(ctx, cacheDir);
    const memoDir = join(cacheDir, "molt-digests");
    const main = (await readdir(memoDir)).find((f) => f.endsWith(".memo"))!;
    const meta = JSON.parse(await readFile(join(memoDir, main), "utf8")) as {
      stamps: string;
      entries: string[][];
    };
    const [path, stamp] = [meta.entries[0]![0]!, meta.stamps.slice(0, 80)];
    // The right path and stamp with another digest, its check left as zeros; then a torn line.
    const forged = [3, path, stamp, sha("evil"), null, null, "0000000000000000"];
    await appendFile(join(memoDir, `${main}.log`), `\n${JSON.stringify(forged)}\n[3,"${path}","${stamp}`);
    const second = await keyOf(ctx, cacheDir);
    expect(second.hits).toBe(1);
    expect(second.inputs).toBe(first.inputs);
    expect(second.inputs).not.toContain(sha("evil"));
  }, 20_000);

  test("past its bound the journal is folded into a rewritten memo", async () => {
    const ctx = join(dir, "ctx");
    const cacheDir = join(dir, "cache");
    await mkdir(join(ctx, "files"), { recursive: true });
    const names = Array.from({ length: 80 }, (_, i) => `f${i}`);
    for (const n of names) await writeFile(join(ctx, "files", n), n);
    await racyWindow();
    await keyOf(ctx, cacheDir);
    // 80 rows hashed again: more than the 64 + 80 / 8 = 74 lines a journal of 80 rows may hold.
    for (const n of names) await writeFile(join(ctx, "files", n), `${n}!`);
    await racyWindow();
    const second = await keyOf(ctx, cacheDir);
    expect(second.hits).toBe(0);
    expect(await memoFiles(cacheDir)).toEqual([".memo", ".memo.pack"]);
    const third = await keyOf(ctx, cacheDir);
    expect(third.hits).toBe(80);
    expect(third.inputs).toBe(second.inputs);
  }, 30_000);

  test("a file hashed again after a hit in the same build no longer gives the memo's bytes or capability", async () => {
    const ctx = join(dir, "ctx");
    const cacheDir = join(dir, "cache");
    await mkdir(join(ctx, "files"), { recursive: true });
    await writeFile(join(ctx, "files/a"), "aaaa");
    await racyWindow();
    await keyOf(ctx, cacheDir);
    const options = { context: ctx, cache: { stores: [{ type: "directory" as const, path: cacheDir }] } };
    const memo = (await attachDigestMemo(options, await openContext(ctx)))!;
    const a = join(ctx, "files/a");
    expect(memo.lookup(a)).toBe(sha("aaaa"));
    expect(memo.capOf(a)).toBeNull();
    const before = await stat(a, { bigint: true });
    await writeFile(a, "bbbb");
    memo.remember(a, before, sha("bbbb"), Buffer.from("bbbb"));
    expect(memo.bytesOf(a)).toBeUndefined();
    expect(memo.capOf(a)).toBeUndefined();
  }, 20_000);
});
