import { createHash } from "node:crypto";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { pushBusybox } from "../harness/base-images.js";
import { readCacheEvents } from "../harness/cache-build.js";
import { run } from "../harness/exec.js";
import { molt } from "../harness/molt-cli.js";
import { type RunningRegistry, startRegistry } from "../harness/registry.js";
import { readTree } from "../harness/tree-diff.js";

// Issue 11: "a cache entry whose blob is missing or fails verification is a miss (with a
// warning), never a broken image". Here the blob is present but its bytes are wrong: the
// registry's own storage file (or the cache directory's blob file) is overwritten behind the
// cache's back, keeping its size, so probing still finds it and only reading it can tell.

let reg: RunningRegistry;
let dir: string;
let n = 0;

beforeAll(async () => {
  reg = await startRegistry();
  await pushBusybox(reg.host);
  dir = await mkdtemp(join(tmpdir(), "molt-e2e-cache-corrupt-"));
}, 120_000);
afterAll(async () => {
  await reg?.stop();
  await rm(dir, { recursive: true, force: true });
});

interface Built {
  code: number;
  stderr: string;
  cached: string[];
  missed: Map<string, string>;
  warnings: string[];
}

/** A build in a fresh process and temp dir, written to an OCI layout (`out`), with `--progress json` (and pushed to the `-d` in `args` when `push`). */
async function build(ctx: string, out: string, args: string[], push = false): Promise<Built> {
  const tmp = await mkdtemp(join(dir, "tmp-"));
  const r = await molt(
    [
      "build",
      "-c",
      ctx,
      ...(push ? [] : ["--no-push"]),
      "--oci-layout-path",
      out,
      "--insecure-pull",
      "--insecure",
      "--reproducible",
      "--progress",
      "json",
      ...args,
    ],
    { env: { ...process.env, TMPDIR: tmp } },
  );
  await rm(tmp, { recursive: true, force: true });
  const { cached, missed, warnings } = readCacheEvents(r.stderr);
  return { code: r.code, stderr: r.stderr, cached, missed, warnings };
}

async function context(files: Record<string, string>): Promise<string> {
  const ctx = join(dir, `ctx-${n++}`);
  await mkdir(ctx, { recursive: true });
  for (const [p, content] of Object.entries(files)) await writeFile(join(ctx, p), content);
  return ctx;
}

/** The layer digests of the image in an OCI layout written by molt. */
async function layoutLayers(layout: string): Promise<string[]> {
  const index = JSON.parse(await readFile(join(layout, "index.json"), "utf8")) as {
    manifests: { digest: string }[];
  };
  const blob = (d: string) => join(layout, "blobs", "sha256", d.slice(7));
  const manifest = JSON.parse(await readFile(blob(index.manifests[0]!.digest), "utf8")) as {
    layers: { digest: string }[];
  };
  return manifest.layers.map((l) => l.digest);
}

/** The image in an OCI layout, unpacked by umoci (not our code); file contents as sha256 hex. */
async function unpackLayout(layout: string): Promise<Map<string, { content?: string; type: string }>> {
  const index = JSON.parse(await readFile(join(layout, "index.json"), "utf8")) as {
    manifests: { annotations?: Record<string, string> }[];
  };
  const tag = index.manifests[0]?.annotations?.["org.opencontainers.image.ref.name"] ?? "latest";
  const bundle = await mkdtemp(join(dir, "bundle-"));
  await rm(bundle, { recursive: true });
  await run("umoci", ["unpack", "--image", `${layout}:${tag}`, bundle]);
  return (await readTree(join(bundle, "rootfs"))) as Map<string, { content?: string; type: string }>;
}

/** Flips one byte in the middle of a file: same size, different bytes. */
async function corrupt(path: string): Promise<void> {
  const b = await readFile(path);
  const at = Math.floor(b.length / 2);
  b[at] = b[at]! ^ 0xff;
  await writeFile(path, b);
}

/** The registry's storage file of a blob (distribution's filesystem driver layout). */
const storedBlob = (digest: string) => {
  const hex = digest.slice("sha256:".length);
  return join(reg.dir, "data", "docker", "registry", "v2", "blobs", "sha256", hex.slice(0, 2), hex, "data");
};

const hexOf = (text: string) => createHash("sha256").update(text).digest("hex");
const sha256 = async (path: string) =>
  `sha256:${createHash("sha256")
    .update(await readFile(path))
    .digest("hex")}`;

const BASE = () => `${reg.host}/test/busybox:latest`;
const FIRST = () => `FROM ${BASE()}\nCOPY f /f\nRUN cat /f > /g\n`;
const SECOND = () => `${FIRST()}RUN cat /g > /h\n`;

describe("a present cache blob whose bytes fail verification", () => {
  test("--cache-repo: the step that took it is rebuilt with a warning; the build succeeds and the image is right", async () => {
    const ctx = await context({ Dockerfile: FIRST(), f: "registry bytes\n" });
    const cacheRepo = `${reg.host}/corrupt/app/cache`;
    const cold = await build(ctx, join(dir, "out-r1"), ["--cache=true", "--cache-repo", cacheRepo]);
    expect(cold.code, cold.stderr).toBe(0);
    const copyLayer = (await layoutLayers(join(dir, "out-r1"))).at(-2)!;
    await corrupt(storedBlob(copyLayer));

    // The COPY and the first RUN hit (probing reads no layer); the new RUN misses, the root is
    // materialised from the cached layers, and the COPY's bytes fail verification.
    await writeFile(join(ctx, "Dockerfile"), SECOND());
    const out = join(dir, "out-r2");
    const after = await build(ctx, out, ["--cache=true", "--cache-repo", cacheRepo]);
    expect(after.code, after.stderr).toBe(0);
    expect(after.warnings.join("\n")).toMatch(
      new RegExp(
        `cached layer ${copyLayer} of COPY f /f in registry .*corrupt/app/cache failed verification; rebuilding from that step`,
      ),
    );
    expect(after.missed.get("0/1")).toBe(`its cached layer ${copyLayer} failed verification`);
    expect(after.missed.get("0/3")).toBe("no entry in cache");
    // After the rebuilt COPY, the first RUN's entry (same key) is still good: taken by descriptor.
    expect(after.cached).toContain("0/2");
    const tree = await unpackLayout(out);
    expect(tree.get("f")?.content).toBe(hexOf("registry bytes\n"));
    expect(tree.get("g")?.content).toBe(hexOf("registry bytes\n"));
    expect(tree.get("h")?.content).toBe(hexOf("registry bytes\n"));
    expect(after.stderr).not.toMatch(/MOLT_DIGEST_MISMATCH|MOLT_EXTRACT_FAILED|Unhandled/);
  });

  test("--cache-dir: the same, and the directory's bad blob is replaced, so the next build hits without a warning", async () => {
    const ctx = await context({ Dockerfile: FIRST(), f: "directory bytes\n" });
    const cacheDir = join(dir, "cache-dir");
    const cold = await build(ctx, join(dir, "out-d1"), ["--cache-dir", cacheDir]);
    expect(cold.code, cold.stderr).toBe(0);
    const copyLayer = (await layoutLayers(join(dir, "out-d1"))).at(-2)!;
    const blob = join(cacheDir, "blobs", "sha256", copyLayer.slice(7));
    await corrupt(blob);
    expect(await sha256(blob)).not.toBe(copyLayer);

    await writeFile(join(ctx, "Dockerfile"), SECOND());
    const out = join(dir, "out-d2");
    const after = await build(ctx, out, ["--cache-dir", cacheDir]);
    expect(after.code, after.stderr).toBe(0);
    expect(after.warnings.join("\n")).toMatch(
      new RegExp(
        `cached layer ${copyLayer} of COPY f /f in directory .* failed verification; rebuilding from that step`,
      ),
    );
    expect(after.missed.get("0/1")).toBe(`its cached layer ${copyLayer} failed verification`);
    const tree = await unpackLayout(out);
    expect(tree.get("h")?.content).toBe(hexOf("directory bytes\n"));
    // The rebuilt COPY (same bytes with --reproducible) replaced the bad blob in the directory.
    expect(await sha256(blob)).toBe(copyLayer);
    const again = await build(ctx, join(dir, "out-d3"), ["--cache-dir", cacheDir]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.cached).toEqual(["0/1", "0/2", "0/3"]);
    expect(again.warnings).toEqual([]);
  });
  test("--cache-dir, every step a hit (bytes never otherwise read): the bad blob is found at the stage's end, that step reruns, the image is right", async () => {
    const ctx = await context({ Dockerfile: FIRST(), f: "all hits\n" });
    const cacheDir = join(dir, "cache-dir-hits");
    const cold = await build(ctx, join(dir, "out-h1"), ["--cache-dir", cacheDir]);
    expect(cold.code, cold.stderr).toBe(0);
    const copyLayer = (await layoutLayers(join(dir, "out-h1"))).at(-2)!;
    const warm = await build(ctx, join(dir, "out-h2"), ["--cache-dir", cacheDir]);
    expect(warm.cached).toEqual(["0/1", "0/2"]);
    expect(warm.warnings).toEqual([]);
    await corrupt(join(cacheDir, "blobs", "sha256", copyLayer.slice(7)));

    const out = join(dir, "out-h3");
    const after = await build(ctx, out, ["--cache-dir", cacheDir]);
    expect(after.code, after.stderr).toBe(0);
    expect(after.warnings.join("\n")).toMatch(
      new RegExp(
        `cached layer ${copyLayer} of COPY f /f in directory .* failed verification; rebuilding from that step`,
      ),
    );
    expect(after.missed.get("0/1")).toBe(`its cached layer ${copyLayer} failed verification`);
    expect(await sha256(join(out, "blobs", "sha256", copyLayer.slice(7)))).toBe(copyLayer);
    const tree = await unpackLayout(out);
    expect(tree.get("g")?.content).toBe(hexOf("all hits\n"));
    expect(await sha256(join(cacheDir, "blobs", "sha256", copyLayer.slice(7)))).toBe(copyLayer);
  });

  test("--cache-dir: a fully cached COPY --from source stage whose cached blob is bad is rebuilt; the copying step gets the right file", async () => {
    const src = () => `FROM ${BASE()} AS src\nCOPY f /f\nRUN cat /f > /g\n`;
    const one = () => `${src()}FROM ${BASE()}\nCOPY --from=src /g /g\n`;
    const two = () => `${src()}FROM ${BASE()}\nENV CHANGED=1\nCOPY --from=src /g /g\n`;
    const ctx = await context({ Dockerfile: one(), f: "source stage\n" });
    const cacheDir = join(dir, "cache-dir-from");
    const cold = await build(ctx, join(dir, "out-f1"), ["--cache-dir", cacheDir]);
    expect(cold.code, cold.stderr).toBe(0);
    // The source stage's RUN layer (what COPY --from reads): the cache record of that step.
    const records = await run("sh", ["-c", `cat ${cacheDir}/molt-cache/keys/*.json`]);
    const runLayer = records.stdout
      .split(/(?<=\})(?=\{)/)
      .map((t) => JSON.parse(t) as { step: string; layer?: { descriptor: { digest: string } } })
      .find((e) => e.step === "RUN cat /f > /g")!.layer!.descriptor.digest;
    await corrupt(join(cacheDir, "blobs", "sha256", runLayer.slice(7)));

    await writeFile(join(ctx, "Dockerfile"), two());
    const out = join(dir, "out-f2");
    const after = await build(ctx, out, ["--cache-dir", cacheDir]);
    expect(after.code, after.stderr).toBe(0);
    expect(after.warnings.join("\n")).toMatch(
      new RegExp(
        `cached layer ${runLayer} of RUN cat /f > /g in directory .* failed verification; rebuilding from that step`,
      ),
    );
    expect(after.missed.get("0/2")).toBe(`its cached layer ${runLayer} failed verification`);
    expect(after.stderr).not.toMatch(/MOLT_DIGEST_MISMATCH|MOLT_EXTRACT_FAILED|Unhandled/);
    const tree = await unpackLayout(out);
    expect(tree.get("g")?.content).toBe(hexOf("source stage\n"));
  });
  test("--cache-repo on the registry the image goes to: a rebuilt layer with the bad blob's digest goes out under another digest; the pushed image verifies", async () => {
    const ctx = await context({ Dockerfile: FIRST(), f: "kept bad\n" });
    const cacheRepo = `${reg.host}/kept/app/cache`;
    const dest = (tag: string) => `${reg.host}/kept/app:${tag}`;
    const cold = await build(
      ctx,
      join(dir, "out-k1"),
      ["--cache=true", "--cache-repo", cacheRepo, "-d", dest("1")],
      true,
    );
    expect(cold.code, cold.stderr).toBe(0);
    const copyLayer = (await layoutLayers(join(dir, "out-k1"))).at(-2)!;
    await corrupt(storedBlob(copyLayer));

    await writeFile(join(ctx, "Dockerfile"), SECOND());
    const after = await build(
      ctx,
      join(dir, "out-k2"),
      ["--cache=true", "--cache-repo", cacheRepo, "-d", dest("2")],
      true,
    );
    expect(after.code, after.stderr).toBe(0);
    expect(after.missed.get("0/1")).toBe(`its cached layer ${copyLayer} failed verification`);
    const layers = await layoutLayers(join(dir, "out-k2"));
    expect(layers).not.toContain(copyLayer);
    // skopeo checks every blob it copies against its digest: the pushed image is whole.
    const pulled = join(dir, "pulled-k2");
    await run("skopeo", ["copy", "--src-tls-verify=false", `docker://${dest("2")}`, `oci:${pulled}:latest`]);
    const tree = await unpackLayout(pulled);
    expect(tree.get("f")?.content).toBe(hexOf("kept bad\n"));
    expect(tree.get("h")?.content).toBe(hexOf("kept bad\n"));
    // The new cache entry names the good blob: the next build hits every step, with no warning.
    const again = await build(
      ctx,
      join(dir, "out-k3"),
      ["--cache=true", "--cache-repo", cacheRepo, "-d", dest("3")],
      true,
    );
    expect(again.code, again.stderr).toBe(0);
    expect(again.cached).toEqual(["0/1", "0/2", "0/3"]);
    expect(again.warnings).toEqual([]);
  });
  test("--cache-repo, every step a hit, an output that reads the bytes (OCI layout): the bad blob is a miss at the stage's end, not a failed output", async () => {
    const ctx = await context({ Dockerfile: FIRST(), f: "streamed\n" });
    const cacheRepo = `${reg.host}/streamed/app/cache`;
    const cold = await build(ctx, join(dir, "out-s1"), ["--cache=true", "--cache-repo", cacheRepo]);
    expect(cold.code, cold.stderr).toBe(0);
    const copyLayer = (await layoutLayers(join(dir, "out-s1"))).at(-2)!;
    await corrupt(storedBlob(copyLayer));

    const out = join(dir, "out-s2");
    const after = await build(ctx, out, ["--cache=true", "--cache-repo", cacheRepo]);
    expect(after.code, after.stderr).toBe(0);
    expect(after.warnings.join("\n")).toMatch(
      new RegExp(
        `cached layer ${copyLayer} of COPY f /f in registry .*streamed/app/cache failed verification; rebuilding from that step`,
      ),
    );
    expect(after.missed.get("0/1")).toBe(`its cached layer ${copyLayer} failed verification`);
    const tree = await unpackLayout(out);
    expect(tree.get("g")?.content).toBe(hexOf("streamed\n"));
    expect(after.stderr).not.toMatch(/MOLT_DIGEST_MISMATCH|Unhandled/);
  });
});
