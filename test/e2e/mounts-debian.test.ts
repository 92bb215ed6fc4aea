import { existsSync } from "node:fs";
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, inject, test } from "vitest";
import { pushDebian } from "../harness/debian-image.js";
import { run } from "../harness/exec.js";
import { buildAndUnpack } from "../harness/molt-cli.js";

// The cache mount people use most: apt's archives in a `type=cache` at /var/cache/apt. A local
// package repository (bound from the context, apt's copy: method, so apt copies the .deb into
// its archive cache as it does from a mirror) means the builds need no network. The second
// build's repository has the index but not the .deb: apt-get can only install from the cache.
const registry = inject("registry");
const DEBS = join(import.meta.dirname, "..", "..", ".cache", "local-debs");
let dir: string;
let base: string;

async function localDebs(): Promise<string> {
  if (existsSync(join(DEBS, "done"))) return DEBS;
  await mkdir(DEBS, { recursive: true });
  // one small package with no dependencies beyond libc, fetched once from the machine's mirror
  await run("sh", [
    "-c",
    `cd ${DEBS} && apt-get download hello 2>/dev/null && chmod 644 *.deb && touch done`,
  ]);
  return DEBS;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "molt-e2e-apt-cache-"));
  base = await pushDebian(registry);
  await localDebs();
}, 600_000);
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const APT = "apt-get -q -o Dir::Etc::SourceList=/tmp/local.list -o Dir::Etc::SourceParts=/nonexistent";

async function context(name: string, withDeb: boolean): Promise<string> {
  const ctx = join(dir, name);
  const repo = join(ctx, "repo");
  await mkdir(repo, { recursive: true });
  const deb = (await readdir(DEBS)).find((n) => n.endsWith(".deb"))!;
  await copyFile(join(DEBS, deb), join(repo, deb));
  const index = await run("sh", ["-c", `cd ${repo} && dpkg-scanpackages -m . 2>/dev/null`]);
  await writeFile(join(repo, "Packages"), index.stdout);
  if (!withDeb) await rm(join(repo, deb));
  await writeFile(
    join(ctx, "Dockerfile"),
    [
      `FROM ${base}`,
      "RUN --mount=type=bind,source=repo,target=/repo \\",
      "    --mount=type=cache,target=/var/cache/apt,sharing=locked \\",
      "    --mount=type=cache,target=/var/lib/apt/lists,sharing=locked \\",
      "    echo 'deb [trusted=yes] copy:/repo ./' > /tmp/local.list && \\",
      `    ${APT} update && ${APT} install -y --no-install-recommends hello && \\`,
      "    ls /var/cache/apt/archives/ | grep '[.]deb$' > /debs-in-cache && rm /tmp/local.list",
      "",
    ].join("\n"),
  );
  return ctx;
}

test("apt-get with /var/cache/apt as a cache mount: the second build installs from the cache", async () => {
  const cacheDir = join(dir, "cache-mounts");
  const first = await buildAndUnpack(await context("first", true), join(dir, "w1"), [
    "--cache-mount-dir",
    cacheDir,
  ]);
  expect(first.code, first.stderr).toBe(0);
  expect(existsSync(join(first.rootfs, "usr", "bin", "hello"))).toBe(true);
  const deb = (await readFile(join(first.rootfs, "debs-in-cache"), "utf8")).trim();
  expect(deb).toMatch(/^hello_.*\.deb$/);
  // the archive lives in the cache mount, not in the image
  expect(
    (await readdir(join(first.rootfs, "var", "cache", "apt", "archives"))).filter((n) => n.endsWith(".deb")),
  ).toEqual([]);

  const second = await buildAndUnpack(await context("second", false), join(dir, "w2"), [
    "--cache-mount-dir",
    cacheDir,
  ]);
  expect(second.code, second.stderr).toBe(0);
  expect(existsSync(join(second.rootfs, "usr", "bin", "hello"))).toBe(true);
  expect((await readFile(join(second.rootfs, "debs-in-cache"), "utf8")).trim()).toBe(deb);

  // without the cache, the same second build cannot find the package file
  const cold = await buildAndUnpack(await context("cold", false), join(dir, "w3"), [
    "--cache-mount-dir",
    join(dir, "empty-cache"),
  ]);
  expect(cold.code, cold.stderr).toBe(1);
}, 300_000);
