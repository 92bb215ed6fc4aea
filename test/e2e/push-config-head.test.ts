import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { build } from "@molt/core";
import { afterAll, beforeAll, expect, test } from "vitest";
import { pushBusybox } from "../harness/base-images.js";
import { run } from "../harness/exec.js";
import { type RunningRegistry, startRegistry } from "../harness/registry.js";

// Issue 11 (warm path): a config made by this build cannot be in any registry yet, so its
// upload does not ask first (no HEAD: one round trip less before the manifest); a reproducible
// config (fixed `created`) may be there already and is asked for.

let registry: RunningRegistry;
let dir: string;

beforeAll(async () => {
  registry = await startRegistry({ accessLog: true });
  await pushBusybox(registry.host);
  dir = await mkdtemp(join(tmpdir(), "molt-e2e-config-head-"));
}, 120_000);
afterAll(async () => {
  await registry?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const pushed = async (tag: string, reproducible: boolean) => {
  const before = registry.accessLog().length;
  const result = await build({
    context: dir,
    dockerfileText: `FROM ${registry.host}/test/busybox:latest\nRUN echo hi > /hi\n`,
    destinations: [`${registry.host}/cfg/app:${tag}`],
    registries: { "*": { insecure: true } },
    tmpDir: dir,
    ...(reproducible ? { reproducible: true } : {}),
  });
  const config = result.manifest.config.digest;
  const log = registry.accessLog().slice(before);
  return { config, heads: log.filter((l) => l.startsWith(`HEAD /v2/cfg/app/blobs/${config}`)), log };
};

test("a new config is uploaded without a HEAD; the registry serves it; a reproducible one is asked for first", async () => {
  const fresh = await pushed("one", false);
  expect(fresh.heads, fresh.log.join("\n")).toEqual([]);
  expect(fresh.log.some((l) => l.startsWith("PUT /v2/cfg/app/blobs/uploads/"))).toBe(true);
  const inspect = await run("skopeo", [
    "inspect",
    "--tls-verify=false",
    "--raw",
    "--config",
    `docker://${registry.host}/cfg/app:one`,
  ]);
  expect(JSON.parse(inspect.stdout).rootfs.diff_ids).toHaveLength(2);

  const first = await pushed("two", true);
  const again = await pushed("three", true);
  expect(again.config).toBe(first.config);
  expect(again.heads).toHaveLength(1);
});
