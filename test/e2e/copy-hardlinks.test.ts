import { execFileSync } from "node:child_process";
import { link, mkdir, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, test } from "vitest";
import { buildAndUnpack } from "../harness/molt-cli.js";

// Issue 14 / finding F2: hard links within one copy stay hard links, as BuildKit keeps them.
// Written from tonistiigi/fsutil copy/copy.go (the copier's `inodes` map: a regular file whose
// inode it already copied is `os.Link`ed to the first copy, per copy action, i.e. per written
// source with its wildcard matches) and the layer differ writing tar hard-link entries. Judged
// on the image umoci unpacks (same inode = one file), not on molt's own reader.
const registry = inject("registry");
const BASE = `${registry}/test/busybox:latest`;
let dir: string;
let n = 0;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "molt-e2e-hardlinks-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

type Spec = Record<string, string | { hardlink: string }>;

async function context(dockerfile: string, files: Spec): Promise<string> {
  const ctx = join(dir, `c${++n}`);
  await mkdir(ctx);
  await writeFile(join(ctx, "Dockerfile"), dockerfile);
  for (const [p, c] of Object.entries(files)) {
    await mkdir(join(ctx, p, ".."), { recursive: true });
    if (typeof c === "string") await writeFile(join(ctx, p), c);
  }
  for (const [p, c] of Object.entries(files))
    if (typeof c !== "string") await link(join(ctx, c.hardlink), join(ctx, p));
  return ctx;
}

async function build(ctx: string, args: string[] = []): Promise<{ root: string; stderr: string }> {
  const r = await buildAndUnpack(ctx, join(dir, `w${++n}`), args);
  expect(r.stderr.split("\n").filter((l) => /error/i.test(l))).toEqual([]);
  expect(r.code).toBe(0);
  return { root: r.rootfs, stderr: r.stderr };
}

const ino = async (p: string) => (await stat(p)).ino;

describe("F2: hard links within one COPY / ADD", () => {
  test("COPY of a context directory: names of one inode stay one file, across subdirectories too", async () => {
    const ctx = await context(`FROM ${BASE}\nCOPY dir /d\n`, {
      "dir/one": "same\n",
      "dir/two": { hardlink: "dir/one" },
      "dir/a/f": "f\n",
      "dir/b/g": { hardlink: "dir/a/f" },
      "dir/other": "same\n",
    });
    const { root } = await build(ctx);
    const d = join(root, "d");
    expect(await ino(join(d, "two"))).toBe(await ino(join(d, "one")));
    expect((await stat(join(d, "one"))).nlink).toBe(2);
    expect(await ino(join(d, "b", "g"))).toBe(await ino(join(d, "a", "f")));
    expect(await readFile(join(d, "b", "g"), "utf8")).toBe("f\n");
    // same bytes but another inode in the context: a file of its own
    expect(await ino(join(d, "other"))).not.toBe(await ino(join(d, "one")));
  });

  test("two written sources are two copy actions: no link between them", async () => {
    const ctx = await context(`FROM ${BASE}\nCOPY one two /h/\n`, {
      one: "same\n",
      two: { hardlink: "one" },
    });
    const { root } = await build(ctx);
    expect(await ino(join(root, "h", "two"))).not.toBe(await ino(join(root, "h", "one")));
    expect((await stat(join(root, "h", "one"))).nlink).toBe(1);
  });

  test("one wildcard source is one copy action: its matches keep their link", async () => {
    const ctx = await context(`FROM ${BASE}\nCOPY f* /w/\n`, { f1: "same\n", f2: { hardlink: "f1" } });
    const { root } = await build(ctx);
    expect(await ino(join(root, "w", "f2"))).toBe(await ino(join(root, "w", "f1")));
  });

  test("COPY --from a stage keeps a link its RUN made; --chmod applies to the one inode", async () => {
    const ctx = await context(
      `FROM ${BASE} AS s\nRUN mkdir /o && echo x > /o/x && ln /o/x /o/y\nFROM ${BASE}\nCOPY --from=s --chmod=0600 /o /o\n`,
      {},
    );
    const { root } = await build(ctx);
    expect(await ino(join(root, "o", "y"))).toBe(await ino(join(root, "o", "x")));
    expect((await stat(join(root, "o", "y"))).mode & 0o7777).toBe(0o600);
  });

  test("ADD of a local tar keeps the archive's hard-link entries", async () => {
    const ctx = await context(`FROM ${BASE}\nADD t.tar /x/\n`, {
      "src/one": "same\n",
      "src/two": { hardlink: "src/one" },
    });
    // GNU tar writes the second name as a hard-link entry (type '1')
    execFileSync("tar", ["-cf", join(ctx, "t.tar"), "-C", join(ctx, "src"), "one", "two"]);
    const listing = execFileSync("tar", ["-tvf", join(ctx, "t.tar")], { encoding: "utf8" });
    expect(listing).toMatch(/^h.* two link to one$/m);
    const { root } = await build(ctx);
    expect(await ino(join(root, "x", "two"))).toBe(await ino(join(root, "x", "one")));
  });

  test("the cache key of the sources sees a link: linking two equal files is a miss, not an old layer", async () => {
    const cacheDir = join(dir, "cache");
    const separate = await context(`FROM ${BASE}\nCOPY dir /d\n`, {
      "dir/one": "same\n",
      "dir/two": "same\n",
    });
    const first = await build(separate, ["--cache-dir", cacheDir]);
    expect(await ino(join(first.root, "d", "two"))).not.toBe(await ino(join(first.root, "d", "one")));
    const linked = await context(`FROM ${BASE}\nCOPY dir /d\n`, {
      "dir/one": "same\n",
      "dir/two": { hardlink: "dir/one" },
    });
    const second = await build(linked, ["--cache-dir", cacheDir]);
    expect(await ino(join(second.root, "d", "two"))).toBe(await ino(join(second.root, "d", "one")));
    // and the linked layer is cached under its own key: a rebuild gives the link again
    const third = await build(linked, ["--cache-dir", cacheDir]);
    expect(await ino(join(third.root, "d", "two"))).toBe(await ino(join(third.root, "d", "one")));
  });
});
