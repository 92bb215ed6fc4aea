import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { build } from "@molt/core";
import { afterAll, beforeAll, expect, test } from "vitest";
import { pushBusybox } from "../harness/base-images.js";
import { run } from "../harness/exec.js";
import { type RunningRegistry, startRegistry } from "../harness/registry.js";

let registry: RunningRegistry;
let dir: string;

beforeAll(async () => {
  registry = await startRegistry({ accessLog: true });
  await pushBusybox(registry.host);
  dir = await mkdtemp(join(tmpdir(), "molt-e2e-blob-once-"));
});
afterAll(async () => {
  await registry?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

test("two stages on the same base download its layer once, and the image still holds both stages' work", async () => {
  const base = `${registry.host}/test/busybox:latest`;
  const layout = join(dir, "out");
  const before = registry.accessLog().length;
  const result = await build({
    context: dir,
    dockerfileText: [
      `FROM ${base} AS one`,
      "RUN echo one > /one",
      `FROM ${base}`,
      "RUN echo two > /two",
      "COPY --from=one /one /one",
      "",
    ].join("\n"),
    noPush: true,
    ociLayoutPath: layout,
    registries: { "*": { pull: { insecure: true } } },
    tmpDir: dir,
  });
  const layerGets = registry
    .accessLog()
    .slice(before)
    .filter((l) => /^GET \/v2\/test\/busybox\/blobs\/sha256:/.test(l));
  // The base's config is read once per stage (small JSON); its one layer must come down once.
  const layerDigest = result.manifest.layers[0]!.digest;
  expect(layerGets.filter((l) => l.endsWith(layerDigest))).toHaveLength(1);
  expect(result.manifest.layers).toHaveLength(3);
  // listed by GNU tar: the COPY --from layer holds the first stage's file
  const blob = join(layout, "blobs", "sha256", result.manifest.layers[2]!.digest.slice("sha256:".length));
  expect((await run("tar", ["-tzf", blob])).stdout.split("\n")).toContain("one");
});
