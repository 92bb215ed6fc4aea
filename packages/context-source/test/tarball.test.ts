import { createReadStream } from "node:fs";
import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pack } from "tar-stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { requireBinary } from "../../../test/harness/registry.js";
import {
  ContextArchiveError,
  ContextNotFoundError,
  ContextTooLargeError,
  openContext,
} from "../src/index.js";
import { fileSet, makeTree, SAMPLE, sh } from "./helpers.js";

let dir: string;
let tmpParent: string;
let expected: string[];
let plainTar: string;

beforeAll(async () => {
  requireBinary("zstd", "Debian package zstd");
  dir = await mkdtemp(join(tmpdir(), "molt-ctx-tar-"));
  tmpParent = join(dir, "tmp");
  await makeTree(tmpParent, {});
  await makeTree(join(dir, "src"), SAMPLE);
  const ctx = await openContext(join(dir, "src"));
  expected = await fileSet(ctx);
  await ctx.close();
  // archives made by GNU tar, gzip and zstd, not by us
  plainTar = join(dir, "ctx.tar");
  await sh("tar", ["-C", join(dir, "src"), "-cf", plainTar, "."]);
  await sh("sh", ["-c", `gzip -c ${plainTar} > ${plainTar}.gz && zstd -q -c ${plainTar} > ${plainTar}.zst`]);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function tarOf(entries: [Record<string, unknown>, string?][]): Promise<string> {
  const p = pack();
  for (const [h, body] of entries) p.entry(h as never, body ?? "");
  p.finalize();
  const file = join(dir, `hostile-${Math.random().toString(36).slice(2)}.tar`);
  const chunks: Buffer[] = [];
  for await (const c of p) chunks.push(c as Buffer);
  await writeFile(file, Buffer.concat(chunks));
  return file;
}

describe("tarball contexts", () => {
  it.each(["", ".gz", ".zst"])("tar://path%s gives the same file set as the directory", async (ext) => {
    const ctx = await openContext(`tar://${plainTar}${ext}`, { tmpDir: tmpParent });
    expect(ctx.description).toBe(`tarball ${plainTar}${ext}`);
    expect(await fileSet(ctx)).toEqual(expected);
    expect(await ctx.stat("debug.log")).toBeUndefined();
    await ctx.close();
    expect(await readdir(tmpParent)).toEqual([]);
  });

  it("tar://stdin reads the given stream", async () => {
    const ctx = await openContext("tar://stdin", {
      stdin: createReadStream(`${plainTar}.gz`),
      tmpDir: tmpParent,
    });
    expect(await fileSet(ctx)).toEqual(expected);
    await ctx.close();
  });

  it("applies the sub-path and the Dockerfile-specific ignore inside the archive", async () => {
    const ctx = await openContext(`tar://${plainTar}`, { subPath: "app", tmpDir: tmpParent });
    expect((await fileSet(ctx)).map((l) => l.split(" ")[0])).toEqual([
      "abs-link",
      "data.json",
      "empty",
      "link",
      "main.sh",
    ]);
    await ctx.close();
  });

  it("reads GNU long names and PAX headers written by GNU tar", async () => {
    const long = `${"deep-directory-name/".repeat(6)}${"a-very-long-file-name-".repeat(5)}.txt`;
    expect(long.length).toBeGreaterThan(200);
    const src = join(dir, "long");
    await makeTree(src, { [long]: "deep\n", [`link-${"x".repeat(120)}`]: { link: long } });
    for (const format of ["gnu", "posix"]) {
      const file = join(dir, `long-${format}.tar`);
      await sh("tar", ["-C", src, `--format=${format}`, "-cf", file, "."]);
      const ctx = await openContext(`tar://${file}`, { tmpDir: tmpParent });
      expect(await ctx.stat(long)).toMatchObject({ type: "file", size: 5 });
      expect(await ctx.stat(`link-${"x".repeat(120)}`)).toMatchObject({ type: "symlink", linkTarget: long });
      await ctx.close();
    }
  });

  it("a missing tarball is a typed error", async () => {
    await expect(openContext(`tar://${dir}/nope.tar`)).rejects.toBeInstanceOf(ContextNotFoundError);
  });

  const file = (name: string, extra: Record<string, unknown> = {}) => ({
    name,
    type: "file",
    mode: 0o644,
    ...extra,
  });
  const hostile: [string, [Record<string, unknown>, string?][]][] = [
    ["traversal", [[file("../evil"), "x"]]],
    ["nested traversal", [[file("a/../../evil"), "x"]]],
    ["absolute name", [[file("/etc/evil"), "x"]]],
    [
      "write through a symlink",
      [[{ name: "out", type: "symlink", linkname: "/tmp" }], [file("out/evil"), "x"]],
    ],
    [
      "write through a relative symlink",
      [[{ name: "up", type: "symlink", linkname: ".." }], [file("up/evil"), "x"]],
    ],
    ["hardlink out", [[{ name: "h", type: "link", linkname: "../../etc/passwd" }]]],
    ["hardlink absolute", [[{ name: "h", type: "link", linkname: "/etc/passwd" }]]],
    [
      "hardlink to a symlink",
      [
        [{ name: "s", type: "symlink", linkname: "/etc/passwd" }],
        [{ name: "h", type: "link", linkname: "s" }],
      ],
    ],
    [
      "entry beneath a file",
      [
        [file("f"), "x"],
        [file("f/g"), "y"],
      ],
    ],
  ];
  it.each(hostile)("refuses a hostile archive: %s", async (_name, entries) => {
    const canary = await mkdtemp(join(dir, "canary-"));
    const tarFile = await tarOf(entries);
    const err = await openContext(`tar://${tarFile}`, { tmpDir: canary }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ContextArchiveError);
    expect(await readdir(canary)).toEqual([]); // temp dir removed, nothing written elsewhere
    expect(await readdir(dir)).not.toContain("evil");
  });

  it("refuses archives over the entry and size limits (bombs)", async () => {
    const many = await tarOf(
      Array.from({ length: 50 }, (_, i) => [file(`f${i}`), "x"] as [Record<string, unknown>, string]),
    );
    await expect(openContext(`tar://${many}`, { maxEntries: 20, tmpDir: tmpParent })).rejects.toBeInstanceOf(
      ContextTooLargeError,
    );
    const big = await tarOf([[file("big"), "y".repeat(4096)]]);
    await expect(
      openContext(`tar://${big}`, { maxExtractedBytes: 1000, tmpDir: tmpParent }),
    ).rejects.toBeInstanceOf(ContextTooLargeError);
    // a gzip bomb: 64 MiB of zeros in a tiny .gz
    const bomb = join(dir, "bomb.tar.gz");
    await sh("sh", [
      "-c",
      `head -c 67108864 /dev/zero > ${dir}/zeros && tar -C ${dir} -cf - zeros | gzip -c > ${bomb} && rm ${dir}/zeros`,
    ]);
    await expect(
      openContext(`tar://${bomb}`, { maxExtractedBytes: 1024 * 1024, tmpDir: tmpParent }),
    ).rejects.toBeInstanceOf(ContextTooLargeError);
    expect(await readdir(tmpParent)).toEqual([]);
  });

  it("a corrupt archive is a typed error", async () => {
    const bad = join(dir, "bad.tar.gz");
    await writeFile(bad, Buffer.concat([Buffer.from([0x1f, 0x8b, 8, 0]), Buffer.alloc(100, 7)]));
    await expect(openContext(`tar://${bad}`, { tmpDir: tmpParent })).rejects.toBeInstanceOf(
      ContextArchiveError,
    );
    const badZstd = join(dir, "bad.tar.zst");
    await writeFile(badZstd, Buffer.concat([Buffer.from([0x28, 0xb5, 0x2f, 0xfd]), Buffer.alloc(100, 7)]));
    await expect(openContext(`tar://${badZstd}`, { tmpDir: tmpParent })).rejects.toBeInstanceOf(
      ContextArchiveError,
    );
    expect(await readdir(tmpParent)).toEqual([]);
  });

  it("later entries replace earlier ones and hardlinks inside the archive work", async () => {
    const t = await tarOf([
      [file("a"), "first"],
      [file("a"), "second"],
      [{ name: "d", type: "directory", mode: 0o755 }],
      [file("d/x"), "x"],
      [{ name: "d", type: "symlink", linkname: "a" }],
      [{ name: "h", type: "link", linkname: "a" }],
    ]);
    const ctx = await openContext(`tar://${t}`, { tmpDir: tmpParent });
    expect(await fileSet(ctx)).toEqual([
      `a file 644 6  ${"16367aacb67a4a01"}`,
      "d symlink 777 0 a ",
      `h file 644 6  ${"16367aacb67a4a01"}`,
    ]);
    await ctx.close();
  });
});
