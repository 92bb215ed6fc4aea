import { lstatSync } from "node:fs";
import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { text } from "node:stream/consumers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ContextEscapeError,
  ContextNotFoundError,
  type ContextSource,
  NotAFileError,
  openContext,
  readDockerfile,
  statStampOf,
} from "../src/index.js";

let dir: string;

async function tree(root: string, files: Record<string, string | { link: string } | null>): Promise<void> {
  for (const [p, v] of Object.entries(files)) {
    const abs = join(root, p);
    if (v === null) {
      await mkdir(abs, { recursive: true });
      continue;
    }
    await mkdir(join(abs, ".."), { recursive: true });
    if (typeof v === "string") await writeFile(abs, v);
    else await symlink(v.link, abs);
  }
}

async function paths(ctx: ContextSource, sub?: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of ctx.walk(sub)) out.push(e.type === "directory" ? `${e.path}/` : e.path);
  return out;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "molt-ctx-dir-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("directory context", () => {
  it("walks depth first, siblings in byte order, with lstat metadata", async () => {
    const root = join(dir, "walk");
    await tree(root, {
      "b.txt": "bee",
      "a/z.txt": "zed",
      "a.txt": "a",
      "A/x": "X",
      "link-out": { link: "/etc/passwd" },
      "link-in": { link: "a/z.txt" },
      "empty/": null,
    });
    const ctx = await openContext(root);
    expect(await paths(ctx)).toEqual([
      "A/",
      "A/x",
      "a/",
      "a/z.txt",
      "a.txt",
      "b.txt",
      "empty/",
      "link-in",
      "link-out",
    ]);
    const z = await ctx.stat("a/z.txt");
    expect(z).toMatchObject({ path: "a/z.txt", type: "file", size: 3, source: join(root, "a/z.txt") });
    expect(typeof z?.mtimeNs).toBe("bigint");
    const out = await ctx.stat("link-out");
    expect(out).toMatchObject({ type: "symlink", linkTarget: "/etc/passwd", size: 0 });
    expect(await ctx.stat("./a/../b.txt")).toMatchObject({ path: "b.txt", size: 3 });
    expect(await ctx.stat("")).toMatchObject({ path: "", type: "directory" });
    expect(await ctx.stat("nope")).toBeUndefined();
    expect(await text(ctx.open("a/z.txt"))).toBe("zed");
    await ctx.close();
  });

  it("a walked file's source is its path on disk and its stamp its lstat data, in the documented form", async () => {
    const root = join(dir, "stamps");
    await tree(root, { "top.txt": "t", "d/e/deep.txt": "deep", "d/link": { link: "e" } });
    const ctx = await openContext(root);
    const seen: Record<string, unknown> = {};
    for await (const e of ctx.walk()) {
      const st = lstatSync(join(root, e.path), { bigint: true });
      seen[e.path] = [e.source, statStampOf(e)];
      if (e.type !== "file") continue;
      // the same key order as before: consumers spread and serialise entries
      expect(Object.keys(e)).toEqual(["path", "type", "mode", "uid", "gid", "size", "mtimeNs", "source"]);
      expect(statStampOf(e)).toBe(`${st.size}/${st.mtimeNs}/${st.ctimeNs}/${st.ino}/${st.dev}`);
    }
    expect(seen).toEqual({
      d: [undefined, undefined],
      "d/e": [undefined, undefined],
      "d/e/deep.txt": [join(root, "d/e/deep.txt"), expect.stringMatching(/^4\/\d+\/\d+\/\d+\/\d+$/)],
      "d/link": [undefined, undefined],
      "top.txt": [join(root, "top.txt"), expect.stringMatching(/^1\/\d+\/\d+\/\d+\/\d+$/)],
    });
  });

  it("never escapes the root", async () => {
    const root = join(dir, "escape");
    await tree(root, { f: "x", up: { link: "../../.." }, abs: { link: "/" } });
    const ctx = await openContext(root);
    await expect(ctx.stat("../escape/f")).rejects.toBeInstanceOf(ContextEscapeError);
    await expect(ctx.glob("../*")).rejects.toBeInstanceOf(ContextEscapeError);
    expect(() => ctx.isIgnored("a/../../x")).toThrow(ContextEscapeError);
    // symlinks in parent components resolve as if the root were "/": they stay inside
    expect(await ctx.stat("up/f")).toMatchObject({ path: "up/f", source: join(root, "f") });
    expect(await ctx.stat("abs/f")).toMatchObject({ source: join(root, "f") });
    expect(await ctx.stat("abs/etc/passwd")).toBeUndefined();
    // leading / means the context root, as in COPY /f .
    expect(await ctx.stat("/f")).toMatchObject({ path: "f" });
    const s = ctx.open("up");
    await expect(text(s)).rejects.toBeInstanceOf(NotAFileError);
    await ctx.close();
  });

  it("a missing context is a one-line typed error naming the path", async () => {
    const missing = join(dir, "does-not-exist");
    const err = await openContext(missing).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ContextNotFoundError);
    expect((err as ContextNotFoundError).code).toBe("MOLT_CONTEXT_NOT_FOUND");
    expect((err as Error).message).toBe(`context path does not exist: ${missing}`);
    await expect(openContext(`dir://${missing}`)).rejects.toBeInstanceOf(ContextNotFoundError);
    const file = join(dir, "a-file.tar");
    await writeFile(file, "");
    await expect(openContext(file)).rejects.toThrow(
      `context path is not a directory: ${file} (for a tarball use tar://${file})`,
    );
  });

  it("honours .dockerignore in walk, stat, glob and open", async () => {
    const root = join(dir, "ignore");
    await tree(root, {
      ".dockerignore": "# build output\nnode_modules\n!node_modules/keep\n*.log\nDockerfile\n",
      Dockerfile: "FROM scratch\n",
      "app.js": "js",
      "debug.log": "log",
      "sub/deep.log": "not root level",
      "node_modules/dep/index.js": "dep",
      "node_modules/keep/k.js": "k",
    });
    const ctx = await openContext(root);
    expect(await paths(ctx)).toEqual([
      ".dockerignore",
      "app.js",
      "node_modules/",
      "node_modules/keep/",
      "node_modules/keep/k.js",
      "sub/",
      "sub/deep.log",
    ]);
    expect(await ctx.stat("debug.log")).toBeUndefined();
    expect(await ctx.stat("Dockerfile")).toBeUndefined();
    expect(await ctx.stat("node_modules/dep/index.js")).toBeUndefined();
    expect(await ctx.stat("node_modules")).toMatchObject({ type: "directory" });
    expect(ctx.isIgnored("node_modules/dep")).toBe(true);
    expect(ctx.isIgnored("node_modules/keep/k.js")).toBe(false);
    expect(await ctx.glob("*")).toEqual([".dockerignore", "app.js", "node_modules", "sub"]);
    expect(await ctx.glob("node_modules/*")).toEqual(["node_modules/keep"]);
    await expect(text(ctx.open("debug.log"))).rejects.toBeInstanceOf(ContextNotFoundError);
    // the Dockerfile is still readable for the build, just not for COPY
    const df = await readDockerfile("Dockerfile", { context: ctx, cwd: join(dir, "nowhere") });
    expect(df).toEqual({ text: "FROM scratch\n", path: "Dockerfile", from: "context" });
    await ctx.close();
  });

  it("<Dockerfile>.dockerignore beside the Dockerfile wins over .dockerignore", async () => {
    const root = join(dir, "precedence");
    await tree(root, {
      ".dockerignore": "a.txt\n",
      "build/app.Dockerfile": "FROM scratch\n",
      "build/app.Dockerfile.dockerignore": "b.txt\n",
      "a.txt": "a",
      "b.txt": "b",
    });
    const plain = await openContext(root);
    expect(await plain.stat("a.txt")).toBeUndefined();
    expect(await plain.stat("b.txt")).toBeDefined();
    const specific = await openContext(root, { dockerfilePath: "build/app.Dockerfile" });
    expect(await specific.stat("a.txt")).toBeDefined();
    expect(await specific.stat("b.txt")).toBeUndefined();
    // the Dockerfile's own directory on disk, outside the context
    const outside = join(dir, "outside");
    await tree(outside, { "x.Dockerfile": "FROM scratch\n", "x.Dockerfile.dockerignore": "*.txt\n" });
    const abs = await openContext(root, { dockerfilePath: join(outside, "x.Dockerfile") });
    expect(await paths(abs)).toEqual([
      ".dockerignore",
      "build/",
      "build/app.Dockerfile",
      "build/app.Dockerfile.dockerignore",
    ]);
    // a relative Dockerfile path is found like readDockerfile finds it: cwd first, then the context
    const fromCwd = await openContext(root, { dockerfilePath: "x.Dockerfile", cwd: outside });
    expect(await fromCwd.stat("a.txt")).toBeUndefined();
    expect(await fromCwd.stat("b.txt")).toBeUndefined();
    await tree(join(outside, "build"), {
      "app.Dockerfile": "FROM scratch\n",
      "app.Dockerfile.dockerignore": "a.txt\n",
    });
    const cwdFirst = await openContext(root, { dockerfilePath: "build/app.Dockerfile", cwd: outside });
    expect(await cwdFirst.stat("b.txt")).toBeDefined();
    expect(await cwdFirst.stat("a.txt")).toBeUndefined();
    const contextFirst = await openContext(root, {
      dockerfilePath: "build/app.Dockerfile",
      dockerfilePrefer: "context",
      cwd: outside,
    });
    expect(await contextFirst.stat("a.txt")).toBeDefined();
    expect(await contextFirst.stat("b.txt")).toBeUndefined();
  });

  it("uses a sub-path as the root and reads its own .dockerignore", async () => {
    const root = join(dir, "subpath");
    await tree(root, { "outer.txt": "o", "app/.dockerignore": "skip\n", "app/keep": "k", "app/skip": "s" });
    const ctx = await openContext(root, { subPath: "app" });
    expect(ctx.root).toBe(join(root, "app"));
    expect(await paths(ctx)).toEqual([".dockerignore", "keep"]);
    await expect(openContext(root, { subPath: "missing" })).rejects.toBeInstanceOf(ContextNotFoundError);
    await expect(openContext(root, { subPath: "../.." })).rejects.toBeInstanceOf(ContextEscapeError);
  });

  it("glob follows COPY's filepath.Match per component", async () => {
    const root = join(dir, "glob");
    await tree(root, {
      "src/a.ts": "",
      "src/b.js": "",
      "src/nested/c.ts": "",
      "lib/d.ts": "",
      ".hidden.ts": "",
      "[x].ts": "",
    });
    const ctx = await openContext(root);
    expect(await ctx.glob("*.ts")).toEqual([".hidden.ts", "[x].ts"]);
    expect(await ctx.glob("*/*.ts")).toEqual(["lib/d.ts", "src/a.ts"]);
    expect(await ctx.glob("src/*")).toEqual(["src/a.ts", "src/b.js", "src/nested"]);
    expect(await ctx.glob("src/?.[jt]s")).toEqual(["src/a.ts", "src/b.js"]);
    expect(await ctx.glob("\\[x\\].ts")).toEqual(["[x].ts"]);
    expect(await ctx.glob("src/nested/c.ts")).toEqual(["src/nested/c.ts"]);
    expect(await ctx.glob("nothing*")).toEqual([]);
    expect(await ctx.glob(".")).toEqual([""]);
  });

  it("hashes lazily and deterministically", async () => {
    const root = join(dir, "hash");
    await tree(root, { "d/a": "same", "d/b": "same", "e/a": "same", "e/b": "same", "f/a": "diff" });
    const ctx = await openContext(root);
    const a = await ctx.hash("d/a");
    // sha256("same"), computed independently
    expect(a).toBe("sha256:0967115f2813a3541eaef77de9d9d5773f1c0c04314b0bbfe4ff3b3b1c55b5d5");
    expect(await ctx.hash("d")).toBe(await ctx.hash("e"));
    expect(await ctx.hash("d")).not.toBe(await ctx.hash("f"));
  });

  it("reads the Dockerfile from stdin, disk, or the context", async () => {
    expect(await readDockerfile("-", { stdin: Readable.from([Buffer.from("FROM a\n")]) })).toEqual({
      text: "FROM a\n",
      path: "-",
      from: "stdin",
    });
    const f = join(dir, "elsewhere.Dockerfile");
    await writeFile(f, "FROM b\n");
    expect(await readDockerfile(f)).toMatchObject({ text: "FROM b\n", path: f, from: "disk" });
    expect(await readDockerfile("elsewhere.Dockerfile", { cwd: dir })).toMatchObject({ path: f });
    await expect(readDockerfile("nope.Dockerfile", { cwd: dir })).rejects.toBeInstanceOf(
      ContextNotFoundError,
    );
  });
});
