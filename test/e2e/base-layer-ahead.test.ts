// A stage sure to RUN asks for its base's first layer as soon as the manifest is in, while the
// config is still coming (issue 16), and its extraction takes that download: one GET per layer.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type BuildProgressEvent, build, type Registry, RegistryClient } from "molt";
import { afterAll, beforeAll, expect, inject, test } from "vitest";

const registry = inject("registry");
let dir: string;
let real: RegistryClient;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "molt-e2e-layer-ahead-"));
  real = new RegistryClient({ insecure: [registry], noCredentialChain: true });
});
afterAll(async () => {
  await real?.close();
  await rm(dir, { recursive: true, force: true });
});

/** The real client, recording calls, with a config that takes 300 ms more to come. */
function slowConfig(log: string[]): Registry {
  return {
    getManifest: (ref, o) => real.getManifest(ref, o),
    headManifest: (ref, o) => real.headManifest(ref, o),
    resolveImage: async (ref, o) => {
      const r = await real.resolveImage(ref, o);
      await new Promise((resolve) => setTimeout(resolve, 300));
      log.push(`resolved ${ref.repository}`);
      return r;
    },
    fetchBlob: (ref, d, o) => {
      log.push(`fetch ${d.digest}`);
      return real.fetchBlob(ref, d, o);
    },
    hasBlob: (ref, d, o) => real.hasBlob(ref, d, o),
    pushBlob: (ref, d, s, o) => real.pushBlob(ref, d, s, o),
    pushBlobStream: (ref, s, m, o) => real.pushBlobStream(ref, s, m, o),
    checkPushPermission: (ref, o) => real.checkPushPermission(ref, o),
    putManifest: (ref, b, m, o) => real.putManifest(ref, b, m, o),
    deleteManifest: (ref, o) => real.deleteManifest(ref, o),
    listTags: (ref, o) => real.listTags(ref, o),
  };
}

test("the base layer of a stage sure to RUN is fetched before the config is in, once, its download the RUN's", async () => {
  const log: string[] = [];
  const events: BuildProgressEvent[] = [];
  const result = await build({
    context: dir,
    dockerfileText: `FROM ${registry}/test/busybox:latest\nRUN echo one > /one\n`,
    noPush: true,
    ociLayoutPath: join(dir, "out"),
    registry: slowConfig(log),
    tmpDir: dir,
    onProgress: (e) => events.push(e),
  });
  const base = result.manifest.layers[0]!.digest;
  expect(log.filter((l) => l === `fetch ${base}`)).toHaveLength(1);
  expect(log.indexOf(`fetch ${base}`)).toBeLessThan(log.indexOf("resolved test/busybox"));
  // Its download's progress is the RUN step's, as when extraction opened the layer itself.
  const run = events.find((e) => e.type === "molt:step:start" && e.name.includes("RUN echo one"));
  const pulled = events.filter(
    (e) =>
      (e.type === "molt:registry:blob-progress" || e.type === "molt:registry:blob-done") &&
      e.direction === "pull" &&
      e.digest === base,
  );
  expect(pulled.length).toBeGreaterThan(0);
  for (const e of pulled)
    expect("step" in e ? e.step : undefined).toBe(run?.type === "molt:step:start" && run.step);
});

test("not ahead when no stage RUNs", async () => {
  const log: string[] = [];
  await build({
    context: dir,
    dockerfileText: `FROM ${registry}/test/busybox:latest\nENV A=1\n`,
    noPush: true,
    ociLayoutPath: join(dir, "out-env"),
    registry: slowConfig(log),
    tmpDir: dir,
  });
  // The layout output still needs the base layer: fetched after the base was resolved, by the output.
  const first = log.findIndex((l) => l.startsWith("fetch "));
  expect(log.indexOf("resolved test/busybox")).toBeGreaterThanOrEqual(0);
  if (first >= 0) expect(first).toBeGreaterThan(log.indexOf("resolved test/busybox"));
});
