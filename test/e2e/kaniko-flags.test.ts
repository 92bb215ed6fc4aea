import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, inject, test } from "vitest";
import { run } from "../harness/exec.js";
import { buildAndUnpack, molt } from "../harness/molt-cli.js";

const registry = inject("registry");
let dir: string;
let n = 0;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "molt-e2e-kaniko-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function context(dockerfile: string, files: Record<string, string> = {}): Promise<string> {
  const ctx = join(dir, `ctx-${++n}`);
  await mkdir(ctx);
  await writeFile(join(ctx, "Dockerfile"), dockerfile);
  for (const [name, text] of Object.entries(files)) await writeFile(join(ctx, name), text);
  return ctx;
}

/** The manifest and config of `layout:latest`, read by skopeo (not by our code). */
async function inspectLayout(layout: string) {
  const manifest = JSON.parse((await run("skopeo", ["inspect", "--raw", `oci:${layout}:latest`])).stdout) as {
    layers: unknown[];
    annotations?: Record<string, string>;
  };
  const config = JSON.parse(
    (await run("skopeo", ["inspect", "--config", `oci:${layout}:latest`])).stdout,
  ) as {
    history: { created_by?: string; empty_layer?: boolean }[];
  };
  return { manifest, config };
}

test("--single-snapshot: the stage's changes become one layer holding only the net result", async () => {
  const ctx = await context(
    `FROM ${registry}/test/busybox:latest
RUN echo a > /a && mkdir /d && echo 1 > /d/one
RUN rm /a && echo b > /b && echo 2 > /d/one
COPY f.txt /f.txt
`,
    { "f.txt": "copied\n" },
  );
  const work = join(dir, "single");
  const r = await buildAndUnpack(ctx, work, ["--single-snapshot"]);
  expect(r.stderr).not.toMatch(/molt: error/);
  expect(r.code).toBe(0);
  const { manifest, config } = await inspectLayout(r.layout);
  expect(manifest.layers).toHaveLength(2); // busybox's one layer + one for the stage
  expect(config.history.filter((h) => !h.empty_layer)).toHaveLength(2);
  expect(config.history.map((h) => h.created_by ?? "")).toEqual(
    expect.arrayContaining([expect.stringContaining("COPY f.txt /f.txt")]),
  );
  await expect(stat(join(r.rootfs, "a"))).rejects.toThrow(/ENOENT/);
  expect(await readFile(join(r.rootfs, "b"), "utf8")).toBe("b\n");
  expect(await readFile(join(r.rootfs, "d/one"), "utf8")).toBe("2\n");
  expect(await readFile(join(r.rootfs, "f.txt"), "utf8")).toBe("copied\n");
  // The layer itself carries no trace of /a (no file, no whiteout: /a never existed in the base).
  const layerList = (
    await run("sh", [
      "-c",
      `tar -tzf ${r.layout}/blobs/sha256/$(skopeo inspect --raw oci:${r.layout}:latest | sed 's/.*"layers".*"digest":"sha256:\\([0-9a-f]*\\)".*/\\1/')`,
    ])
  ).stdout;
  expect(layerList.split("\n").filter((l) => /(^|\/)(\.wh\.)?a$/.test(l))).toEqual([]);
}, 120_000);

test("--annotation puts annotations on the manifest", async () => {
  const ctx = await context(`FROM ${registry}/test/busybox:latest\nLABEL x=y\n`);
  const work = join(dir, "annot");
  const r = await buildAndUnpack(ctx, work, [
    "--annotation",
    "org.opencontainers.image.source=https://example.test/repo",
    "--annotation=org.example.build=42",
  ]);
  expect(r.code).toBe(0);
  const { manifest } = await inspectLayout(r.layout);
  expect(manifest.annotations).toEqual({
    "org.opencontainers.image.source": "https://example.test/repo",
    "org.example.build": "42",
  });
}, 60_000);

test("--registry-map pulls a registry's images from another; --skip-default-registry-fallback forbids the original", async () => {
  const ctx = await context("FROM registry.invalid/test/busybox:latest\nRUN echo mapped > /m\n");
  const work = join(dir, "map");
  const r = await buildAndUnpack(ctx, work, [
    "--registry-map",
    `registry.invalid=${registry}`,
    "--insecure-registry",
    registry,
  ]);
  expect(r.stderr).not.toMatch(/molt: error/);
  expect(r.code).toBe(0);
  expect(await readFile(join(r.rootfs, "m"), "utf8")).toBe("mapped\n");

  // Mapped to a repository that does not exist, without fallback: the build fails (the same
  // build with fallback succeeds below, so the original registry was not asked).
  const ctx2 = await context(`FROM ${registry}/test/busybox:latest\n`);
  const r2 = await molt([
    "build",
    "-c",
    ctx2,
    "--no-push",
    "--insecure-pull",
    "--registry-map",
    `${registry}=${registry}/nowhere`,
    "--skip-default-registry-fallback",
  ]);
  expect(r2.code).toBe(1);
  expect(r2.stderr).toMatch(/MOLT_REGISTRY_NOT_FOUND/);
  // With fallback (the default), the same map falls back to the original registry.
  const r3 = await molt([
    "build",
    "-c",
    ctx2,
    "--no-push",
    "--insecure-pull",
    "--registry-map",
    `${registry}=${registry}/nowhere`,
  ]);
  expect(r3.code).toBe(0);
}, 120_000);

test("unknown flags still fail with exit 2; flags with no meaning warn on stderr and build", async () => {
  const ctx = await context(`FROM ${registry}/test/busybox:latest\n`);
  const bad = await molt(["build", "-c", ctx, "--no-push", "--frobnicate"]);
  expect(bad.code).toBe(2);
  const r = await molt([
    "build",
    "-c",
    ctx,
    "--no-push",
    "--insecure-pull",
    "--use-new-run",
    "--cleanup=true",
  ]);
  expect(r.code).toBe(0);
  expect(r.stderr).toMatch(/^WARNING --use-new-run has no effect in molt: /m);
  expect(r.stderr).not.toMatch(/cleanup/);
}, 60_000);
