import { spawnSync } from "node:child_process";
import { chownSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openDirectoryContext } from "@molt/context-source";
import { afterAll, describe, expect, it } from "vitest";
import { directContextPath } from "../src/mounts/sources.js";

const dir = mkdtempSync(join(tmpdir(), "molt-ctx-bind-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A context directory with `files` (path → content) and its `.dockerignore` lines. */
async function ctxWith(name: string, files: Record<string, string>, ignore?: string) {
  const root = join(dir, name);
  for (const [p, c] of Object.entries(files)) {
    mkdirSync(join(root, p, ".."), { recursive: true });
    writeFileSync(join(root, p), c);
  }
  if (ignore !== undefined) writeFileSync(join(root, ".dockerignore"), ignore);
  return { root, ctx: await openDirectoryContext(root) };
}

describe("RUN --mount=type=bind from the context: the context itself or a copy", () => {
  it("binds the context directory itself when nothing under the source is excluded", async () => {
    const { root, ctx } = await ctxWith(
      "plain",
      { "src/a.txt": "a", "src/sub/b.txt": "b", "other.txt": "o" },
      "other.txt\n",
    );
    expect(await directContextPath(ctx, "src")).toBe(join(root, "src"));
    expect(await directContextPath(ctx, "src/a.txt")).toBe(join(root, "src", "a.txt"));
    // the whole context holds an excluded file: copied (the copy leaves it out)
    expect(await directContextPath(ctx, "")).toBeUndefined();
    await ctx.close();
  });

  it("copies when .dockerignore excludes something under the source, or the source itself", async () => {
    const { ctx } = await ctxWith(
      "ignored",
      { "src/keep.txt": "k", "src/deep/secret.key": "s", "gone/x": "x" },
      "**/*.key\ngone\n",
    );
    expect(await directContextPath(ctx, "src")).toBeUndefined();
    expect(await directContextPath(ctx, "src/keep.txt")).toBeDefined();
    expect(await directContextPath(ctx, "gone")).toBeUndefined();
    expect(await directContextPath(ctx, "missing")).toBeUndefined();
    await ctx.close();
  });

  it("copies when a file is not this user's (a copy makes it root's) or is not a file, directory or symlink", async () => {
    const { root, ctx } = await ctxWith("owners", { "mine/a": "a", "theirs/a": "a", "fifo/a": "a" });
    if (process.geteuid?.() === 0) {
      chownSync(join(root, "theirs", "a"), 1000, 1000);
      expect(await directContextPath(ctx, "theirs")).toBeUndefined();
    }
    expect(spawnSync("mkfifo", [join(root, "fifo", "pipe")]).status).toBe(0);
    expect(await directContextPath(ctx, "fifo")).toBeUndefined();
    expect(await directContextPath(ctx, "mine")).toBe(join(root, "mine"));
    await ctx.close();
  });
});
