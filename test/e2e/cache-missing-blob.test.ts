import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { pushBusybox } from "../harness/base-images.js";
import { type CacheBuild, cacheBuild } from "../harness/cache-build.js";
import { run } from "../harness/exec.js";
import { deleteBlob, type RunningRegistry, startRegistry } from "../harness/registry.js";

// Issue 11: "a cache blob deleted from the registry behind the cache's back: all later builds
// are correct". Probing a key is one GET of its entry manifest; the blob is checked once,
// later: by the push's mount into the destination (cache.test.ts), by a HEAD at the stage's
// end when nothing is pushed, and by the fetch itself when a later step misses and the root is
// materialised from the cached layers. Each way, the step whose blob is gone runs again.

let reg: RunningRegistry;
let dir: string;
let n = 0;

beforeAll(async () => {
  reg = await startRegistry();
  await pushBusybox(reg.host);
  dir = await mkdtemp(join(tmpdir(), "molt-e2e-cache-missing-"));
}, 120_000);
afterAll(async () => {
  await reg?.stop();
  await rm(dir, { recursive: true, force: true });
});

const BASE = () => `${reg.host}/test/busybox:latest`;

async function context(files: Record<string, string>): Promise<string> {
  const ctx = join(dir, `ctx-${n++}`);
  await mkdir(ctx, { recursive: true });
  for (const [p, content] of Object.entries(files)) await writeFile(join(ctx, p), content);
  return ctx;
}

/** A reproducible build in a fresh process; its digest from `--digest-file`. */
async function build(ctx: string, args: string[]): Promise<CacheBuild & { digest: string }> {
  const digestFile = join(dir, `digest-${n++}`);
  const r = await cacheBuild(dir, [
    "-c",
    ctx,
    "--insecure",
    "--insecure-pull",
    "--reproducible",
    "--digest-file",
    digestFile,
    ...args,
  ]);
  if (r.code !== 0) throw new Error(`molt build failed (${r.code}):\n${r.stderr}`);
  return { ...r, digest: (await readFile(digestFile, "utf8")).trim() };
}

/** The layer digests of an image in the registry (read by skopeo). */
async function layersOf(ref: string): Promise<string[]> {
  const r = await run("skopeo", ["inspect", "--raw", "--tls-verify=false", `docker://${reg.host}/${ref}`]);
  return (JSON.parse(r.stdout) as { layers: { digest: string }[] }).layers.map((l) => l.digest);
}

describe("a cache blob deleted behind the cache's back", () => {
  test("a later step misses: materialising the root finds the blob gone, and the stage runs again from the step that took it", async () => {
    const df = `FROM ${BASE()}\nCOPY f /f\nRUN cat /f > /g\nCOPY h /h\nRUN cat /h /g > /i\n`;
    const ctx = await context({ Dockerfile: df, f: "first\n", h: "one\n" });
    await build(ctx, ["-d", `${reg.host}/mat/app:1`, "--cache=true"]);
    const copyLayer = (await layersOf("mat/app:1")).at(-4)!;
    expect(await deleteBlob(reg.host, "mat/app/cache", copyLayer)).toBe(202);
    await writeFile(join(ctx, "h"), "two\n");
    const after = await build(ctx, [
      "-d",
      `${reg.host}/mat/app2:1`,
      "--cache=true",
      "--cache-repo",
      `${reg.host}/mat/app/cache`,
    ]);
    expect(after.warnings.join("\n")).toMatch(
      /cache entry [0-9a-f]{12} in registry .*: its layer sha256:[0-9a-f]{64} of COPY f \/f is missing; rebuilding the step/,
    );
    expect(after.missed.get("0/1")).toBe(`its cached layer ${copyLayer} is missing`);
    expect(after.final).toEqual(
      new Map([
        ["0/1", false],
        ["0/2", true],
        ["0/3", false],
        ["0/4", false],
      ]),
    );
    // The same inputs built with no cache at all give the same image.
    const plain = await build(ctx, ["-d", `${reg.host}/mat/plain:1`]);
    expect(after.digest).toBe(plain.digest);
  });

  test("nothing pushed: a HEAD at the stage's end finds it gone; the rebuilt step writes its entry again, and the next build hits every step", async () => {
    const ctx = await context({ Dockerfile: `FROM ${BASE()}\nCOPY f /f\nRUN cat /f > /g\n`, f: "alone\n" });
    const cold = await build(ctx, ["-d", `${reg.host}/nopush/app:1`, "--cache=true"]);
    const copyLayer = (await layersOf("nopush/app:1")).at(-2)!;
    expect(await deleteBlob(reg.host, "nopush/app/cache", copyLayer)).toBe(202);
    const cacheRepo = ["--cache=true", "--cache-repo", `${reg.host}/nopush/app/cache`];
    // A dry run, which checks no layer at a stage's end, asks for each blob it says would hit.
    const dry = await cacheBuild(dir, ["-c", ctx, "--no-push", "--insecure-pull", "--dryrun", ...cacheRepo]);
    expect(dry.code).toBe(0);
    expect(dry.final).toEqual(
      new Map([
        ["0/1", false],
        ["0/2", true],
      ]),
    );
    expect(dry.missed.get("0/1")).toBe(`its cached layer ${copyLayer} is missing`);
    const after = await build(ctx, ["--no-push", ...cacheRepo]);
    expect(after.warnings.join("\n")).toMatch(/its layer sha256:[0-9a-f]{64} of COPY f \/f is missing/);
    expect(after.final).toEqual(
      new Map([
        ["0/1", false],
        ["0/2", true],
      ]),
    );
    expect(after.digest).toBe(cold.digest);
    const next = await build(ctx, ["-d", `${reg.host}/nopush/app3:1`, ...cacheRepo]);
    expect(next.final).toEqual(
      new Map([
        ["0/1", true],
        ["0/2", true],
      ]),
    );
    expect(next.warnings).toEqual([]);
    expect(next.digest).toBe(cold.digest);
  });
});
