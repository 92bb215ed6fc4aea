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

  test("--keep-git-dir=true keeps .git: a repository at the commit, origin the remote", async () => {
    // BuildKit's git source with KeepGitDir (dockerfile2llb sets it from --keep-git-dir): the
    // checkout holds .git, HEAD at the fetched commit, the branch fetched into its local ref,
    // origin set to the remote URL. Judged with the system git on the unpacked image.
    const url = git.url("repo.git");
    const r = await build(
      `FROM ${BASE}\nADD --keep-git-dir=true ${url}#main /src\nADD --keep-git-dir=true ${url}#main:sub /sub\n`,
    );
    expect(r.stderr).not.toMatch(/molt: error/);
    expect(r.code).toBe(0);
    const src = join(r.rootfs, "src");
    const g = (...args: string[]) => run("git", ["-c", `safe.directory=${src}`, "-C", src, ...args]);
    const main = (
      await run("git", ["--git-dir", join(git.base, "repo.git"), "rev-parse", "main"])
    ).stdout.trim();
    expect((await g("rev-parse", "HEAD")).stdout.trim()).toBe(main);
    expect((await g("rev-parse", "refs/heads/main")).stdout.trim()).toBe(main);
    expect((await g("remote", "get-url", "origin")).stdout.trim()).toBe(url);
    expect((await g("status", "--porcelain")).stdout).toBe("");
    expect(await readFile(join(src, "a.txt"), "utf8")).toBe("a2\n");
    // with a subdirectory there is no .git (BuildKit keeps it only for the whole tree)
    await expect(stat(join(r.rootfs, "sub", ".git"))).rejects.toMatchObject({ code: "ENOENT" });
    expect(await readFile(join(r.rootfs, "sub", "b.txt"), "utf8")).toBe("b\n");
  });

  test("a git source beside other sources: each is copied into the destination directory", async () => {
    // dockerfile2llb dispatchCopy: one copy action per source, the repository's "/" among them.
    const ctx = join(dir, `c${++n}`);
    await mkdir(ctx);
    await writeFile(join(ctx, "local.txt"), "local\n");
    await writeFile(
      join(ctx, "Dockerfile"),
      `FROM ${BASE}\nADD ${git.url("repo.git")}#v1 local.txt /both/\n`,
    );
    const r = await buildAndUnpack(ctx, join(dir, `w${n}`));
    expect(r.stderr).not.toMatch(/molt: error/);
    expect(r.code).toBe(0);
    expect(await readFile(join(r.rootfs, "both", "a.txt"), "utf8")).toBe("a1\n");
    expect(await readFile(join(r.rootfs, "both", "sub", "b.txt"), "utf8")).toBe("b\n");
    expect(await readFile(join(r.rootfs, "both", "local.txt"), "utf8")).toBe("local\n");
    await expect(stat(join(r.rootfs, "both", ".git"))).rejects.toMatchObject({ code: "ENOENT" });
  });
});
