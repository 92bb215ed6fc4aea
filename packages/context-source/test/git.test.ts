import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningGitDaemon, startGitDaemon } from "../../../test/harness/git-daemon.js";
import { parseGitUrl } from "../src/git.js";
import { ContextFetchError, ContextNotFoundError, isGitUrl, openContext } from "../src/index.js";
import { startGitHttps } from "./git-http-server.js";
import { fileSet, makeTestCa, makeTree, SAMPLE, sh } from "./helpers.js";

let dir: string;
let tmpParent: string;
let daemon: RunningGitDaemon;
let expected: string[];
let firstCommit: string;

const ident = [
  "-c",
  "user.name=molt",
  "-c",
  "user.email=molt@example.invalid",
  "-c",
  "init.defaultBranch=main",
];
const gitIn = (cwd: string, ...args: string[]) => sh("git", [...ident, ...args], { cwd });

// git cannot hold an empty directory, so the git sample has none.
const { "app/empty/": _empty, ...SAMPLE_NO_EMPTY } = SAMPLE;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "molt-ctx-git-"));
  tmpParent = join(dir, "tmp");
  await makeTree(tmpParent, {});
  daemon = await startGitDaemon();
  // the submodule repository
  const sub = join(dir, "lib");
  await makeTree(sub, { "lib.txt": "from the submodule\n" });
  await gitIn(sub, "init", "-q");
  await gitIn(sub, "add", "-A");
  await gitIn(sub, "commit", "-q", "-m", "lib");
  await sh("git", ["clone", "-q", "--bare", sub, join(daemon.base, "lib.git")]);
  // the main repository: v1 = old content, main = SAMPLE + submodule
  const work = join(dir, "work");
  await makeTree(work, { "old.txt": "old\n" });
  await gitIn(work, "init", "-q");
  await gitIn(work, "add", "-A");
  await gitIn(work, "commit", "-q", "-m", "first");
  firstCommit = (await gitIn(work, "rev-parse", "HEAD")).trim();
  await gitIn(work, "tag", "v1");
  await gitIn(work, "rm", "-q", "old.txt");
  await makeTree(work, SAMPLE_NO_EMPTY);
  await gitIn(work, "add", "-A");
  await gitIn(work, "commit", "-q", "-m", "second");
  await gitIn(
    work,
    "-c",
    "protocol.file.allow=always",
    "submodule",
    "add",
    "-q",
    daemon.url("lib.git"),
    "vendor/lib",
  );
  await gitIn(work, "commit", "-q", "-m", "submodule");
  await gitIn(work, "branch", "feature", firstCommit);
  await sh("git", ["clone", "-q", "--bare", work, join(daemon.base, "app.git")]);

  const local = join(dir, "local");
  await makeTree(local, SAMPLE_NO_EMPTY);
  const ctx = await openContext(local);
  expected = await fileSet(ctx);
});
afterAll(async () => {
  await daemon?.stop();
  await rm(dir, { recursive: true, force: true });
});

const names = async (spec: string, opts = {}) => {
  const ctx = await openContext(spec, { tmpDir: tmpParent, ...opts });
  try {
    return (await fileSet(ctx)).map((l) => l.split(" ")[0]);
  } finally {
    await ctx.close();
  }
};

describe("git URLs", () => {
  it.each([
    ["git://host/repo", { remote: "git://host/repo", ref: undefined, subdir: "" }],
    ["git://host/repo#v1", { remote: "git://host/repo", ref: "v1", subdir: "" }],
    [
      "https://host/org/repo.git#main:docker/app",
      { remote: "https://host/org/repo.git", ref: "main", subdir: "docker/app" },
    ],
    ["git@host:org/repo.git#:sub", { remote: "git@host:org/repo.git", ref: undefined, subdir: "sub" }],
  ])("%s", (spec, parsed) => {
    expect(isGitUrl(spec)).toBe(true);
    expect(parseGitUrl(spec)).toEqual(parsed);
  });
  it("tells tarball URLs from repositories", () => {
    expect(isGitUrl("https://host/ctx.tar.gz")).toBe(false);
    expect(isGitUrl("https://host/repo.git")).toBe(true);
    expect(isGitUrl("https://host/repo.git/#x")).toBe(true);
  });
});

describe("git contexts (real git daemon)", () => {
  it("the default branch gives the same file set as the directory, without .git", async () => {
    const ctx = await openContext(daemon.url("app.git"), { tmpDir: tmpParent });
    const got = (await fileSet(ctx)).filter((l) => !l.startsWith(".gitmodules ") && !l.startsWith("vendor"));
    expect(got).toEqual(expected);
    expect(await ctx.stat(".git")).toBeUndefined();
    // without submodules on request, the submodule is an empty directory
    expect(await ctx.stat("vendor/lib")).toMatchObject({ type: "directory" });
    expect(await ctx.stat("vendor/lib/lib.txt")).toBeUndefined();
    await ctx.close();
    expect(await readdir(tmpParent)).toEqual([]);
  });

  it("fetches a tag, a branch, and a commit by id", async () => {
    expect(await names(`${daemon.url("app.git")}#v1`)).toEqual(["old.txt"]);
    expect(await names(`${daemon.url("app.git")}#feature`)).toEqual(["old.txt"]);
    expect(await names(`${daemon.url("app.git")}#${firstCommit}`)).toEqual(["old.txt"]);
  });

  it("uses #ref:subdir as the root, then the sub-path", async () => {
    expect(await names(`${daemon.url("app.git")}#main:app`)).toEqual([
      "abs-link",
      "data.json",
      "link",
      "main.sh",
    ]);
    expect(await names(`${daemon.url("app.git")}#:secret`)).toEqual(["key.pem", "public.txt"]);
    await expect(
      openContext(`${daemon.url("app.git")}#main:nope`, { tmpDir: tmpParent }),
    ).rejects.toBeInstanceOf(ContextNotFoundError);
  });

  it("fetches submodules on request", async () => {
    const ctx = await openContext(daemon.url("app.git"), { submodules: true, tmpDir: tmpParent });
    expect(await ctx.stat("vendor/lib/lib.txt")).toMatchObject({ type: "file", size: 19 });
    expect(await ctx.stat("vendor/lib/.git")).toBeUndefined();
    await ctx.close();
  });

  it("a missing ref or repository is a fetch error and leaves nothing behind", async () => {
    await expect(
      openContext(`${daemon.url("app.git")}#no-such-branch`, { tmpDir: tmpParent }),
    ).rejects.toBeInstanceOf(ContextFetchError);
    await expect(openContext(daemon.url("missing.git"), { tmpDir: tmpParent })).rejects.toBeInstanceOf(
      ContextFetchError,
    );
    expect(await readdir(tmpParent)).toEqual([]);
  });

  it("fetches https://….git#ref:subdir through git's smart HTTP over verified TLS", async () => {
    const tls = await makeTestCa(dir);
    const server = await startGitHttps(daemon.base, tls);
    try {
      const ca = await readFile(tls.ca, "utf8");
      const spec = `${server.url("app.git")}#main:app`;
      const ctx = await openContext(spec, { ca, tmpDir: tmpParent });
      expect(ctx.description).toBe(`git ${spec}`);
      expect((await fileSet(ctx)).map((l) => l.split(" ")[0])).toEqual([
        "abs-link",
        "data.json",
        "link",
        "main.sh",
      ]);
      await ctx.close();
      // without the CA, TLS verification fails
      await expect(openContext(spec, { tmpDir: tmpParent })).rejects.toThrow(/certificate|SSL/i);
      expect(await readdir(tmpParent)).toEqual([]);
    } finally {
      await server.stop();
    }
  });
});
