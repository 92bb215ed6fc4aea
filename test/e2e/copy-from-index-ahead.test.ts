import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type BuildOptions, type BuildProgressEvent, build } from "@molt/core";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { pushBusybox } from "../harness/base-images.js";
import { run } from "../harness/exec.js";
import { pushHandMadeImage } from "../harness/hand-image.js";
import { type RunningRegistry, requireBinary, startRegistry } from "../harness/registry.js";
import { maybeGunzip, readTar } from "../harness/tar-read.js";

/*
 * `COPY --from=<stage>` onto a base image reads the destination's facts from the base layers'
 * index while the source stage is still building, not after it (issue 16): the index's download
 * comes before the source stage's RUN is done, the base layer is downloaded once even when the
 * source stage extracts the same layer at the same time, and the image is the one extraction
 * gives (`baseIndex: false`), digest for digest.
 */

let registry: RunningRegistry;
let dir: string;
const EPOCH = 1_000_000_000; // clamps every time, so two builds of the same thing are identical

beforeAll(async () => {
  requireBinary("tar", "GNU tar");
  registry = await startRegistry({ accessLog: true });
  dir = await mkdtemp(join(tmpdir(), "molt-e2e-index-ahead-"));
  await pushBusybox(registry.host);
});
afterAll(async () => {
  await registry?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function context(name: string, dockerfile: string): Promise<string> {
  const ctx = join(dir, name);
  await mkdir(ctx, { recursive: true });
  await writeFile(join(ctx, "Dockerfile"), dockerfile);
  return ctx;
}

/** Builds and pushes; returns the result, every event in order and the registry's GETs of `blobs`. */
async function buildLogged(ctx: string, tag: string, blobs: string[], extra: Partial<BuildOptions> = {}) {
  const before = registry.accessLog().length;
  const events: BuildProgressEvent[] = [];
  const result = await build({
    context: ctx,
    destinations: [`${registry.host}/out/${tag}:latest`],
    registries: { [registry.host]: { insecure: true } },
    tmpDir: dir,
    sourceDateEpoch: EPOCH,
    onProgress: (e) => events.push(e),
    ...extra,
  });
  const gets = registry
    .accessLog()
    .slice(before)
    .filter((l) => l.startsWith("GET ") && blobs.some((d) => l.endsWith(`/blobs/${d}`)));
  return { result, events, gets };
}

/** Position of the first event matching `pred` (fails the test when there is none). */
function positionOf(
  events: BuildProgressEvent[],
  what: string,
  pred: (e: BuildProgressEvent) => boolean,
): number {
  const i = events.findIndex(pred);
  expect(i, what).toBeGreaterThanOrEqual(0);
  return i;
}

/** The step id of the step whose name contains `text`. */
function stepNamed(events: BuildProgressEvent[], text: string): number {
  const e = events.find((x) => x.type === "molt:step:start" && x.name.includes(text));
  if (e?.type !== "molt:step:start") throw new Error(`no step named ${text}`);
  return e.step;
}

async function manifestLayers(repo: string, ref: string): Promise<string[]> {
  const res = await fetch(`http://${registry.host}/v2/${repo}/manifests/${ref}`, {
    headers: { accept: "application/vnd.oci.image.manifest.v1+json" },
  });
  return ((await res.json()) as { layers: { digest: string }[] }).layers.map((l) => l.digest);
}

describe("COPY --from a stage still building, onto a base image", () => {
  let base: string;
  let baseLayer = "";
  beforeAll(async () => {
    const l0 = join(dir, "l0");
    await run("sh", [
      "-euc",
      `mkdir -p ${l0} && cd ${l0}
       mkdir -p etc app
       printf 'root:x:0:0::/root:/bin/sh\\n' > etc/passwd
       printf 'root:x:0:\\n' > etc/group
       chown 5:6 app && chmod 0750 app`,
    ]);
    base = `${registry.host}/test/ahead-base:1`;
    await pushHandMadeImage(base, [{ dir: l0 }]);
    baseLayer = (await manifestLayers("test/ahead-base", "1"))[0]!;
  });

  const dockerfile = () =>
    [
      `FROM ${registry.host}/test/busybox:latest AS src`,
      // long enough that a read of the index after this step could not pass for one made beside it
      "RUN mkdir /out && echo built > /out/stamp && sleep 1",
      `FROM ${base}`,
      "COPY --from=src /out /app/",
      "",
    ].join("\n");

  test("the base layer's index is read while the source stage runs, and the image is extraction's", async () => {
    const ctx = await context("ahead", dockerfile());
    const ahead = await buildLogged(ctx, "ahead", [baseLayer]);
    const run = stepNamed(ahead.events, "RUN mkdir /out");
    const runDone = positionOf(
      ahead.events,
      "the source stage's RUN is done",
      (e) => e.type === "molt:step:done" && e.step === run,
    );
    const indexDownloaded = positionOf(
      ahead.events,
      "the base layer was downloaded (to index it)",
      (e) => e.type === "molt:registry:blob-done" && e.direction === "pull" && e.digest === baseLayer,
    );
    expect(indexDownloaded).toBeLessThan(runDone);
    // the base is read from its index, never extracted, and downloaded once
    expect(ahead.gets).toEqual([`GET /v2/test/ahead-base/blobs/${baseLayer}`]);
    expect(ahead.events.filter((e) => e.type === "molt:snapshot:extract-start")).toHaveLength(1); // src's busybox

    // the COPY's layer keeps /app as the base has it (mode 0750, owner 5:6), from the index
    const layers = ahead.result.manifest.layers.map((l) => l.digest);
    const res = await fetch(`http://${registry.host}/v2/out/ahead/blobs/${layers.at(-1)}`);
    const entries = readTar(maybeGunzip(Buffer.from(await res.arrayBuffer())));
    const app = entries.find((e) => e.path === "app");
    expect(app && { mode: app.mode, uid: app.uid, gid: app.gid }).toEqual({ mode: 0o750, uid: 5, gid: 6 });
    expect(entries.map((e) => e.path).sort()).toEqual(["app", "app/stamp"]);

    const extracted = await buildLogged(ctx, "extracted", [baseLayer], { baseIndex: false });
    expect(ahead.result.digest).toBe(extracted.result.digest);
  });

  test("both stages on one base: its layer is downloaded once, for extraction and index alike", async () => {
    const [busyboxLayer] = await manifestLayers("test/busybox", "latest");
    const ctx = await context(
      "same-base",
      [
        `FROM ${registry.host}/test/busybox:latest AS src`,
        "RUN mkdir /out && echo built > /out/stamp",
        `FROM ${registry.host}/test/busybox:latest`,
        "COPY --from=src /out /app/",
        "",
      ].join("\n"),
    );
    const same = await buildLogged(ctx, "same", [busyboxLayer!]);
    expect(same.gets).toHaveLength(1);
    const extracted = await buildLogged(ctx, "same-extracted", [busyboxLayer!], { baseIndex: false });
    expect(same.result.digest).toBe(extracted.result.digest);
  });
});
