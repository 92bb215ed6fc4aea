import { mkdir, mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { build } from "molt";
import { afterAll, beforeAll, describe, expect, inject, test } from "vitest";
import { writeContext } from "../harness/context-dir.js";
import { run } from "../harness/exec.js";
import { molt } from "../harness/molt-cli.js";
import { freePort } from "../harness/registry.js";

const registry = inject("registry");
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "molt-e2e-bad-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const context = (name: string, dockerfile: string): Promise<string> =>
  writeContext(join(dir, name), dockerfile);

/** The output ends with exactly one error line (progress lines may come before it). */
function oneLine(stderr: string): string {
  const lines = stderr.trimEnd().split("\n");
  const errors = lines.filter((l) => l.startsWith("molt: error:"));
  expect(errors).toHaveLength(1);
  expect(lines.at(-1)).toBe(errors[0]);
  return errors[0]!;
}

async function tagAbsent(ref: string): Promise<void> {
  const r = await run("skopeo", ["inspect", "--tls-verify=false", `docker://${ref}`], { allowFail: true });
  expect(r.code).not.toBe(0);
  expect(r.stderr).toMatch(/manifest unknown|name unknown|not found/i);
}

describe("each bad input ends with a one-line error naming the thing, exit code 1", () => {
  test("a missing Dockerfile", async () => {
    const ctx = await context("nodf", "FROM scratch\n");
    const r = await molt(["build", "-c", ctx, "-f", join(ctx, "Nope.Dockerfile"), "--no-push"]);
    expect(r.code).toBe(1);
    expect(oneLine(r.stderr)).toMatch(/Dockerfile does not exist: .*Nope\.Dockerfile/);
  });

  test("an unknown instruction names file, line and column", async () => {
    const ctx = await context("unknown", "FROM scratch\n  FROBNICATE the thing\n");
    const r = await molt(["build", "-c", ctx, "--no-push"]);
    expect(r.code).toBe(1);
    const line = oneLine(r.stderr);
    expect(line).toMatch(/Dockerfile:2:3/);
    expect(line).toMatch(/FROBNICATE/i);
  });

  test("a context path that does not exist", async () => {
    const missing = join(dir, "no-such-context");
    const r = await molt(["build", "-c", missing, "-f", join(dir, "nodf", "Dockerfile"), "--no-push"]);
    expect(r.code).toBe(1);
    expect(oneLine(r.stderr)).toContain(missing);
  });

  test("a base image the registry does not have; nothing lands under the destination tag", async () => {
    const ctx = await context("nobase", `FROM ${registry}/test/not-here:1\nENV A=1\n`);
    const dest = `${registry}/e2e/nobase:1`;
    const r = await molt(["build", "-c", ctx, "-d", dest, "--insecure", "--insecure-pull"]);
    expect(r.code).toBe(1);
    const line = oneLine(r.stderr);
    expect(line).toContain("test/not-here");
    expect(line).toMatch(/MANIFEST_UNKNOWN|NAME_UNKNOWN/);
    await tagAbsent(dest);
  });

  test("a registry that does not answer", async () => {
    const port = await freePort();
    const ctx = await context("noreg", `FROM 127.0.0.1:${port}/test/busybox:latest\n`);
    const r = await molt(["build", "-c", ctx, "--no-push", "--insecure-pull"]);
    expect(r.code).toBe(1);
    expect(oneLine(r.stderr)).toContain(`127.0.0.1:${port}`);
  });

  test("a COPY source missing from the context names the source and the line", async () => {
    const ctx = await context("nosrc", "FROM scratch\nCOPY missing.txt /x\n");
    const dest = `${registry}/e2e/nosrc:1`;
    const r = await molt(["build", "-c", ctx, "-d", dest, "--insecure"]);
    expect(r.code).toBe(1);
    const line = oneLine(r.stderr);
    expect(line).toContain("missing.txt");
    expect(line).toContain("Dockerfile:2");
    await tagAbsent(dest);
  });
});

describe("flag errors print a usage line and exit 2", () => {
  test("an unknown flag", async () => {
    const r = await molt(["build", "--frobnicate", "--no-push"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("--frobnicate");
    expect(r.stderr).toMatch(/^usage: molt build /m);
  });

  test("a flag missing its value", async () => {
    const r = await molt(["build", "--no-push", "-d"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/destination/);
    expect(r.stderr).toMatch(/^usage: molt build /m);
  });

  test("no output at all", async () => {
    const r = await molt(["build", "-c", join(dir, "nodf")]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/no destination/);
  });
});

test("an aborted build rejects with MOLT_ABORTED and leaves no temporary directory", async () => {
  const tmp = join(dir, "tmp-abort");
  await mkdir(tmp);
  const ctx = await context("abort", `FROM ${registry}/test/busybox:latest\nCOPY Dockerfile /x\n`);
  const controller = new AbortController();
  const p = build({
    context: ctx,
    noPush: true,
    ociLayoutPath: join(dir, "abort-layout"),
    registries: { "*": { pull: { insecure: true } } },
    tmpDir: tmp,
    signal: controller.signal,
    onProgress: (e) => {
      if (e.type === "molt:step:start" && e.kind === "instruction") controller.abort();
    },
  });
  await expect(p).rejects.toMatchObject({ code: "MOLT_ABORTED" });
  expect(await readdir(tmp)).toEqual([]);
});
