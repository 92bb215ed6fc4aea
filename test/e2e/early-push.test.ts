import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type BuildProgressEvent, build } from "@molt/core";
import { afterAll, beforeAll, expect, test } from "vitest";
import { pushBusybox } from "../harness/base-images.js";
import { run } from "../harness/exec.js";
import { type FaultProxy, startFaultProxy } from "../harness/fault-proxy.js";
import { type RunningRegistry, startRegistry } from "../harness/registry.js";

// Layers of the final image go up while later steps run; the manifest still goes last.
let registry: RunningRegistry;
let proxy: FaultProxy;
let dir: string;

beforeAll(async () => {
  registry = await startRegistry();
  await pushBusybox(registry.host);
  proxy = await startFaultProxy(registry.host);
  dir = await mkdtemp(join(tmpdir(), "molt-e2e-early-push-"));
});
afterAll(async () => {
  await proxy?.stop();
  await registry?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const opts = () => ({
  context: dir,
  registries: { "*": { insecure: true } },
  tmpDir: dir,
});
const putOf = (digest: string) =>
  proxy.seen.find(
    (s) =>
      s.method === "PUT" && /\/blobs\/uploads\//.test(s.url) && decodeURIComponent(s.url).includes(digest),
  );

test("a layer is uploaded while the next step runs; its events stay the push step's; the manifest comes last", async () => {
  const events: { e: BuildProgressEvent; at: number }[] = [];
  const dest = `${proxy.host}/early/app:1`;
  const result = await build({
    ...opts(),
    dockerfileText: `FROM ${registry.host}/test/busybox:latest\nRUN echo one > /one\nRUN sleep 2 && echo two > /two\n`,
    destinations: [dest],
    onProgress: (e) => events.push({ e, at: performance.now() }),
  });
  const first = result.manifest.layers[1]!.digest;
  const second = result.manifest.layers[2]!.digest;
  const starts = events.flatMap(({ e, at }) => (e.type === "molt:step:start" ? [{ ...e, at }] : []));
  const sleepStep = starts.find((s) => s.name.includes("sleep 2"))!;
  const pushStep = starts.find((s) => s.kind === "output")!;
  const sleepDone = events.find(({ e }) => e.type === "molt:step:done" && e.step === sleepStep.step)!.at;
  // The first RUN's layer was sent while `sleep 2` ran, well before that step ended.
  expect(putOf(first)!.at).toBeLessThan(sleepDone - 1000);
  expect(putOf(first)!.at).toBeGreaterThan(sleepStep.at);
  // The manifest comes after every blob.
  const manifestAt = proxy.seen.find((s) => s.method === "PUT" && s.url === "/v2/early/app/manifests/1")!.at;
  expect(manifestAt).toBeGreaterThan(putOf(first)!.at);
  expect(manifestAt).toBeGreaterThan(putOf(second)!.at);
  // Every blob of the image is reported once, by the push step, early or not.
  const done = events.flatMap(({ e }) =>
    e.type === "molt:registry:blob-done" && e.direction === "push" ? [e] : [],
  );
  expect(done.map((d) => d.digest).sort()).toEqual(
    [...result.manifest.layers.map((l) => l.digest), result.manifest.config.digest].sort(),
  );
  for (const d of done) expect(d.step).toBe(pushStep.step);
  expect(done.find((d) => d.digest === first)!.result).toBe("uploaded");
  // What skopeo reads back is what the build says it pushed.
  const raw = await run("skopeo", ["inspect", "--raw", "--tls-verify=false", `docker://${dest}`]);
  expect(JSON.parse(raw.stdout).layers.map((l: { digest: string }) => l.digest)).toEqual(
    result.manifest.layers.map((l) => l.digest),
  );
}, 120_000);

test("a build that fails after a layer went up leaves no tag", async () => {
  const dest = `${proxy.host}/early/failed:1`;
  const attempt = build({
    ...opts(),
    dockerfileText: `FROM ${registry.host}/test/busybox:latest\nRUN echo one > /one\nRUN sleep 1 && exit 3\n`,
    destinations: [dest],
  });
  await expect(attempt).rejects.toThrow(/3/);
  // The first layer may be in the repository, but nothing names it.
  expect(proxy.seen.some((s) => s.method === "PUT" && s.url.startsWith("/v2/early/failed/manifests/"))).toBe(
    false,
  );
  const inspect = await run("skopeo", ["inspect", "--tls-verify=false", `docker://${dest}`], {
    allowFail: true,
  });
  expect(inspect.code).not.toBe(0);
}, 120_000);

test("the base and intermediate stages' layers are not sent ahead, only the final image's", async () => {
  const dest = `${proxy.host}/early/multi:1`;
  const from = proxy.seen.length;
  const events: BuildProgressEvent[] = [];
  const result = await build({
    ...opts(),
    onProgress: (e) => events.push(e),
    dockerfileText: [
      `FROM ${registry.host}/test/busybox:latest AS build`,
      "RUN echo built > /built",
      // A layer applied to the root after the RUN: the RUN is recorded (its layer and the
      // WORKDIR's written); the last RUN of this stage, only read as files, writes none.
      "WORKDIR /w",
      "RUN echo w > /w/x",
      `FROM ${registry.host}/test/busybox:latest`,
      "COPY --from=build /built /app/built",
      "RUN echo final > /final",
      "",
    ].join("\n"),
    destinations: [dest],
  });
  const pushedDigests = proxy.seen
    .slice(from)
    .filter((s) => s.method === "PUT" && /\/v2\/early\/multi\/blobs\/uploads\//.test(s.url))
    .map((s) => /digest=(sha256(?::|%3A)[0-9a-f]{64})/.exec(s.url)![1]!.replace("%3A", ":"));
  // The image's layers (the base's streamed, as the proxy is another registry name) and its
  // config, each once; the build stage's own layer, which no manifest names, is never uploaded.
  const image = result.manifest.layers.map((l) => l.digest);
  expect(image).toHaveLength(3);
  expect(pushedDigests.sort()).toEqual([...image, result.manifest.config.digest].sort());
  // Without a cache, the build stage's layers are only read back by this build: written as plain
  // tar (no gzip), and its last RUN (after which nothing is applied to its root) writes none;
  // the final image's own layers are gzip as asked.
  const written = events.flatMap((e) => (e.type === "molt:layer:written" ? [e] : []));
  expect(written).toHaveLength(4);
  const own = new Set(image);
  const intermediate = written.filter((w) => !own.has(w.digest));
  expect(intermediate.map((w) => w.mediaType)).toEqual([
    "application/vnd.oci.image.layer.v1.tar",
    "application/vnd.oci.image.layer.v1.tar",
  ]);
  for (const w of intermediate) expect(w.digest).toBe(w.diffId);
  for (const w of written.filter((w) => own.has(w.digest))) expect(w.mediaType).toMatch(/gzip$/);
}, 120_000);

test("a base layer on the destination's registry is mounted while the steps run, not at the push step", async () => {
  // Base and destination behind the same proxy: one registry, so the base's layer can be mounted.
  const base = `${proxy.host}/test/busybox:latest`;
  const dest = `${proxy.host}/early/mounted:1`;
  const from = proxy.seen.length;
  const events: { e: BuildProgressEvent; at: number }[] = [];
  const result = await build({
    ...opts(),
    dockerfileText: `FROM ${base}\nRUN sleep 2 && echo two > /two\n`,
    destinations: [dest],
    onProgress: (e) => events.push({ e, at: performance.now() }),
  });
  const baseLayer = result.manifest.layers[0]!.digest;
  const mount = proxy.seen
    .slice(from)
    .find(
      (s) =>
        s.method === "POST" &&
        s.url.startsWith("/v2/early/mounted/blobs/uploads/") &&
        decodeURIComponent(s.url).includes(`mount=${baseLayer}`),
    );
  const starts = events.flatMap(({ e, at }) => (e.type === "molt:step:start" ? [{ ...e, at }] : []));
  const sleepStep = starts.find((s) => s.name.includes("sleep 2"))!;
  const pushStep = starts.find((s) => s.kind === "output")!;
  const sleepDone = events.find(({ e }) => e.type === "molt:step:done" && e.step === sleepStep.step)!.at;
  // Mounted (never streamed) while `sleep 2` ran, well before the push step.
  expect(mount).toBeDefined();
  expect(mount!.at).toBeLessThan(sleepDone - 1000);
  const streamed = proxy.seen
    .slice(from)
    .filter((s) => s.method === "PUT" && s.url.startsWith("/v2/early/mounted/blobs/uploads/"))
    .filter((s) => decodeURIComponent(s.url).includes(baseLayer));
  expect(streamed).toEqual([]);
  // Its event is the push step's, with the result the registry gave.
  const done = events.flatMap(({ e }) =>
    e.type === "molt:registry:blob-done" && e.direction === "push" && e.digest === baseLayer ? [e] : [],
  );
  expect(done).toHaveLength(1);
  expect(done[0]!.step).toBe(pushStep.step);
  expect(done[0]!.result).toBe("mounted");
  const raw = await run("skopeo", ["inspect", "--raw", "--tls-verify=false", `docker://${dest}`]);
  expect(JSON.parse(raw.stdout).layers.map((l: { digest: string }) => l.digest)).toEqual(
    result.manifest.layers.map((l) => l.digest),
  );
}, 120_000);
