import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, test } from "vitest";
import { run } from "../harness/exec.js";
import { type RunningGitDaemon, startGitDaemon } from "../harness/git-daemon.js";
import { buildAndUnpack } from "../harness/molt-cli.js";

// Issue 14 bug 9: ADD <git URL> (reference: "Adding a git repository"): the tree at the ref,
// `#ref:subdir` for a subdirectory, no .git unless --keep-git-dir; served by a real git daemon.
const registry = inject("registry");
const BASE = `${registry}/test/busybox:latest`;
let dir: string;
let git: RunningGitDaemon;
let n = 0;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "molt-e2e-addgit-"));
  const work = join(dir, "work");
  await mkdir(join(work, "sub"), { recursive: true });
  await writeFile(join(work, "a.txt"), "a1\n");
  await writeFile(join(work, "sub", "b.txt"), "b\n");
  await writeFile(join(work, ".dockerignore"), "a.txt\n");
  git = await startGitDaemon();
  const ident = "-c user.name=molt -c user.email=molt@example.invalid";
  await run("sh", [
    "-c",
    `cd ${work} && git init -q -b main && git add -A && git ${ident} commit -q -m one && git tag v1 && echo a2 > a.txt && git ${ident} commit -q -am two && git clone -q --bare . ${git.base}/repo.git`,
  ]);
});
afterAll(async () => {
  await git?.stop();
  await rm(dir, { recursive: true, force: true });
});

async function build(dockerfile: string) {
  const ctx = join(dir, `c${++n}`);
  await mkdir(ctx);
  await writeFile(join(ctx, "Dockerfile"), dockerfile);
  return buildAndUnpack(ctx, join(dir, `w${n}`));
}

describe("ADD <git URL>", () => {
  test("adds the tree at a ref, a subdirectory with #ref:subdir, no .git, the repo's .dockerignore not applied", async () => {
    const url = git.url("repo.git");
    const r = await build(`FROM ${BASE}\nADD ${url}#v1 /src\nADD ${url}#main:sub /sub\nADD ${url} /head/\n`);
    expect(r.stderr).not.toMatch(/molt: error/);
    expect(r.code).toBe(0);
    expect(await readFile(join(r.rootfs, "src", "a.txt"), "utf8")).toBe("a1\n");
    expect(await readFile(join(r.rootfs, "src", "sub", "b.txt"), "utf8")).toBe("b\n");
    await expect(stat(join(r.rootfs, "src", ".git"))).rejects.toMatchObject({ code: "ENOENT" });
    expect(await readFile(join(r.rootfs, "sub", "b.txt"), "utf8")).toBe("b\n");
    await expect(stat(join(r.rootfs, "sub", "a.txt"))).rejects.toMatchObject({ code: "ENOENT" });
    expect(await readFile(join(r.rootfs, "head", "a.txt"), "utf8")).toBe("a2\n");
  });

  test("--keep-git-dir=true is refused with a clear error for now", async () => {
    const r = await build(`FROM ${BASE}\nADD --keep-git-dir=true ${git.url("repo.git")} /src\n`);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/keep-git-dir=true is not supported yet/);
  });
});
