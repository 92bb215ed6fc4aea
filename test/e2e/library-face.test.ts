// The library's pluggable parts, used as a program would: a Registry of the user's own (a
// wrapper around the real client), a snapshotter factory of their own, and per-host,
// per-direction registry settings. Judged by the real registry and skopeo, not by molt.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  build,
  createSnapshotter,
  type Extractor,
  extract,
  type LayerSource,
  type Registry,
  RegistryClient,
  type SnapshotterFactory,
} from "molt";
import { afterAll, beforeAll, expect, test } from "vitest";
import { pushBusybox } from "../harness/base-images.js";
import { run } from "../harness/exec.js";
import { type RunningRegistry, startRegistry } from "../harness/registry.js";

let registry: RunningRegistry;
let dir: string;

beforeAll(async () => {
  registry = await startRegistry();
  await pushBusybox(registry.host);
  dir = await mkdtemp(join(tmpdir(), "molt-e2e-library-face-"));
});
afterAll(async () => {
  await registry?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const dockerfile = (base: string) =>
  [`FROM ${base}`, "RUN echo one > /one", "RUN echo two > /two && rm /one", ""].join("\n");

test("build() goes through a Registry of the user's own: every pull and push is its call", async () => {
  const real = new RegistryClient({ insecure: [registry.host], noCredentialChain: true });
  const calls: string[] = [];
  const seen = <T>(name: string, ref: { repository: string }, call: () => T): T => {
    calls.push(`${name} ${ref.repository}`);
    return call();
  };
  const mine: Registry = {
    getManifest: (ref, o) => seen("getManifest", ref, () => real.getManifest(ref, o)),
    headManifest: (ref, o) => seen("headManifest", ref, () => real.headManifest(ref, o)),
    resolveImage: (ref, o) => seen("resolveImage", ref, () => real.resolveImage(ref, o)),
    fetchBlob: (ref, d, o) => seen("fetchBlob", ref, () => real.fetchBlob(ref, d, o)),
    hasBlob: (ref, d, o) => seen("hasBlob", ref, () => real.hasBlob(ref, d, o)),
    pushBlob: (ref, d, s, o) => seen("pushBlob", ref, () => real.pushBlob(ref, d, s, o)),
    pushBlobStream: (ref, s, m, o) => seen("pushBlobStream", ref, () => real.pushBlobStream(ref, s, m, o)),
    checkPushPermission: (ref, o) => seen("checkPushPermission", ref, () => real.checkPushPermission(ref, o)),
    putManifest: (ref, b, m, o) => seen("putManifest", ref, () => real.putManifest(ref, b, m, o)),
    deleteManifest: (ref, o) => seen("deleteManifest", ref, () => real.deleteManifest(ref, o)),
    listTags: (ref, o) => seen("listTags", ref, () => real.listTags(ref, o)),
  };
  const ref = `${registry.host}/face/mine:1`;
  try {
    // No registry settings at all: without the user's Registry (which knows the host is plain
    // HTTP) the pull would fail over HTTPS, so a pass shows every request went through it.
    const result = await build({
      context: dir,
      dockerfileText: dockerfile(`${registry.host}/test/busybox:latest`),
      destinations: [ref],
      registry: mine,
      tmpDir: dir,
    });
    expect(calls).toContain("resolveImage test/busybox");
    expect(calls).toContain("fetchBlob test/busybox"); // the base layer, for RUN
    expect(calls).toContain("checkPushPermission face/mine");
    expect(calls).toContain("putManifest face/mine");
    expect(calls.filter((c) => c === "pushBlob face/mine").length).toBeGreaterThanOrEqual(3); // 2 layers + config
    // the registry holds the image under the tag, with the digest build() reported
    const inspect = JSON.parse(
      (await run("skopeo", ["inspect", "--tls-verify=false", `docker://${ref}`])).stdout,
    ) as { Digest: string; Layers: string[] };
    expect(inspect.Digest).toBe(result.digest);
    expect(inspect.Layers).toHaveLength(3);
    // the user's Registry is theirs to close: build() left it open and usable
    expect(await real.listTags({ registry: registry.host, repository: "face/mine" })).toEqual(["1"]);
  } finally {
    await real.close();
  }
});

test("build() diffs RUN through the user's snapshotter factory, and the layers are what it reported", async () => {
  const made: { root: string; mode: string | undefined; steps: number; changed: string[][] }[] = [];
  const snapshotter: SnapshotterFactory = async (root, options) => {
    const inner = await createSnapshotter(root, options);
    const record = { root, mode: options.mode, steps: 0, changed: [] as string[][] };
    made.push(record);
    return {
      get mode() {
        return inner.mode;
      },
      root: inner.root,
      baseline: inner.baseline,
      addIgnored: (paths) => inner.addIgnored(paths),
      close: () => inner.close(),
      begin: async (o) => {
        record.steps++;
        const step = await inner.begin(o);
        return {
          rootfs: step.rootfs,
          abort: () => step.abort(),
          finish: async (f) => {
            const changes = await step.finish(f);
            record.changed.push(
              changes.map((c) => `${c.kind} ${c.kind === "add" ? c.entry.path : c.path}`).sort(),
            );
            return changes;
          },
        };
      },
    };
  };
  const layout = join(dir, "snap-out");
  const result = await build({
    context: dir,
    dockerfileText: dockerfile(`${registry.host}/test/busybox:latest`),
    noPush: true,
    ociLayoutPath: layout,
    snapshotMode: "walk",
    snapshotter,
    // per-host, per-direction settings: pulls from this host over plain HTTP, nothing else weakened
    registries: { [registry.host]: { pull: { insecure: true } } },
    tmpDir: dir,
  });
  expect(made).toHaveLength(1);
  expect(made[0]!.mode).toBe("walk");
  expect(made[0]!.steps).toBe(2);
  expect(made[0]!.changed[0]).toContain("add one");
  expect(made[0]!.changed[1]).toEqual(expect.arrayContaining(["add two", "delete one"]));
  // GNU tar lists the last layer: two written, one whited out
  const last = result.manifest.layers.at(-1)!.digest.slice("sha256:".length);
  const names = (await run("tar", ["-tzf", join(layout, "blobs", "sha256", last)])).stdout.split("\n");
  expect(names).toEqual(expect.arrayContaining(["two", ".wh.one"]));
});

test("build() materialises stage roots through the user's extractor: it sees every layer, in order, and the image is the same", async () => {
  const ctx = await mkdtemp(join(dir, "extract-ctx-"));
  await writeFile(join(ctx, "a.txt"), "from the context\n");
  const text = [
    `FROM ${registry.host}/test/busybox:latest`,
    "RUN echo one > /one",
    "COPY a.txt /a.txt",
    "RUN cat /a.txt /one > /both",
    "",
  ].join("\n");
  const seen: { digest: string | undefined; diffId: string | undefined; root: string }[] = [];
  const extractor: Extractor = async (layers, root, options) => {
    const all: LayerSource[] = [];
    for await (const l of layers) {
      seen.push({ digest: l.digest, diffId: l.diffId, root });
      all.push(l);
    }
    return extract(all, root, options);
  };
  const common = {
    context: ctx,
    dockerfileText: text,
    noPush: true,
    reproducible: true,
    registries: { [registry.host]: { pull: { insecure: true } } },
    tmpDir: dir,
  } as const;
  const plain = await build({ ...common, ociLayoutPath: join(dir, "extract-plain") });
  const wrapped = await build({ ...common, ociLayoutPath: join(dir, "extract-wrapped"), extractor });
  // the image is the one molt's own extraction gives
  expect(wrapped.digest).toBe(plain.digest);
  const layers = wrapped.manifest.layers.map((l) => l.digest);
  const diffIds = wrapped.config.rootfs.diff_ids;
  // base layers + RUN + COPY + RUN; the root is made for the first RUN (every base layer), then
  // COPY's layer is applied onto it (the RUNs' changes are already there)
  expect(layers.length).toBeGreaterThanOrEqual(4);
  const base = layers.slice(0, -3);
  expect(seen.map((s) => s.digest)).toEqual([...base, layers.at(-2)]);
  expect(seen.map((s) => s.diffId)).toEqual([...diffIds.slice(0, base.length), diffIds.at(-2)]);
  expect(new Set(seen.map((s) => s.root)).size).toBe(1);
});

test("registries: a pull-only setting never lets a push go over plain HTTP to the same host", async () => {
  const err = await build({
    context: dir,
    dockerfileText: `FROM ${registry.host}/test/busybox:latest\n`,
    destinations: [`${registry.host}/face/refused:1`],
    registries: { "*": { pull: { insecure: true } } },
    tmpDir: dir,
  }).catch((e: unknown) => e);
  expect(err).toMatchObject({ code: "MOLT_REGISTRY_TLS" });
  const ok = await build({
    context: dir,
    dockerfileText: `FROM ${registry.host}/test/busybox:latest\n`,
    destinations: [`${registry.host}/face/allowed:1`],
    registries: { "*": { pull: { insecure: true } }, [registry.host]: { push: { insecure: true } } },
    tmpDir: dir,
  });
  const inspect = JSON.parse(
    (await run("skopeo", ["inspect", "--tls-verify=false", `docker://${registry.host}/face/allowed:1`]))
      .stdout,
  ) as { Digest: string };
  expect(inspect.Digest).toBe(ok.digest);
});
