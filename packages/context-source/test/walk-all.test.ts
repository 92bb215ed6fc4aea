import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { walkBatches } from "../src/dir-walk.js";
import { IgnoreMatcher, openDirectoryContext, parseDockerignore, statStampOf } from "../src/index.js";
import { makeTree } from "./helpers.js";

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "molt-ctx-walk-all-"));
  const tree: Record<string, string | null> = {
    "a/x": "1",
    "a/y/z": "2",
    "b/keep": "3",
    "b/drop.log": "4",
    "b/sub/deep.log": "5",
    "b/sub/keep.log": "6",
    c: "7",
  };
  // More names than one walk batch (256), so batches are handed out mid-directory.
  for (let i = 0; i < 300; i++) tree[`many/f${String(i).padStart(3, "0")}`] = `${i}`;
  await makeTree(dir, tree);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function walked(ctx: Awaited<ReturnType<typeof openDirectoryContext>>, sub = ""): Promise<string[]> {
  const out: string[] = [];
  for await (const e of ctx.walk(sub)) out.push(e.path);
  return out;
}

describe("DirectoryContext.walkAll", () => {
  it("gives walk's entries in walk's order, .dockerignore exceptions included", async () => {
    // *.log and all of b/sub ignored, but b/sub/keep.log re-included: docker sends b/sub just
    // before it.
    const ctx = await openDirectoryContext(dir, {
      ignorePatterns: parseDockerignore("**/*.log\nb/sub\n!b/sub/keep.log\n"),
    });
    const many = Array.from({ length: 300 }, (_, i) => `many/f${String(i).padStart(3, "0")}`);
    const expected = [
      "a",
      "a/x",
      "a/y",
      "a/y/z",
      "b",
      "b/keep",
      "b/sub",
      "b/sub/keep.log",
      "c",
      "many",
      ...many,
    ];
    const all = await ctx.walkAll();
    expect(all.map((e) => e.path)).toEqual(expected);
    expect(await walked(ctx)).toEqual(expected);
    expect((await ctx.walkAll("b")).map((e) => e.path)).toEqual(["b/keep", "b/sub", "b/sub/keep.log"]);
    expect((await ctx.walkAll("many")).map((e) => e.path)).toEqual(many);
    // Below an ignored directory, only the re-included path.
    expect((await ctx.walkAll("b/sub")).map((e) => e.path)).toEqual(["b/sub/keep.log"]);
    // Walked files carry their stat stamp.
    const file = all.find((e) => e.path === "a/x")!;
    expect(statStampOf(file)).toMatch(/^1\/\d+\/\d+\/\d+\/\d+$/);
    expect(statStampOf(all.find((e) => e.path === "a")!)).toBeUndefined();
    // The stamp is no property anyone sees, and a copy of the entry has none.
    expect(Object.keys(file)).toEqual(["path", "type", "mode", "uid", "gid", "size", "mtimeNs", "source"]);
    expect(statStampOf({ ...file })).toBeUndefined();
    expect(statStampOf({ ...file, path: "elsewhere" })).toBeUndefined();
  });

  it("stat of an ignored directory with a re-included path below finds it", async () => {
    const ctx = await openDirectoryContext(dir, {
      ignorePatterns: parseDockerignore("b\n!b/sub/keep.log\n"),
    });
    expect((await ctx.stat("b"))?.type).toBe("directory");
    expect((await ctx.walkAll("b")).map((e) => e.path)).toEqual(["b/sub", "b/sub/keep.log"]);
  });

  it("gives the event loop turns while it lists a tree of many small directories", async () => {
    const root = join(dir, "wide");
    const tree: Record<string, string> = {};
    for (let d = 0; d < 50; d++) for (let f = 0; f < 100; f++) tree[`d${d}/f${f}`] = "";
    await makeTree(root, tree);
    let turns = 0;
    let done = false;
    const tick = () => {
      turns++;
      if (!done) setImmediate(tick);
    };
    // 5,050 names in directories of at most 100: only the walk's own pacing lets an immediate run.
    const batches = walkBatches({
      root,
      ignore: new IgnoreMatcher([]),
      real: "",
      out: "",
      info: undefined,
      batch: Number.POSITIVE_INFINITY,
    });
    const first = batches.next();
    setImmediate(tick);
    const { value } = await first;
    done = true;
    expect(value).toHaveLength(5050);
    expect(turns).toBeGreaterThanOrEqual(1);
  });
});
