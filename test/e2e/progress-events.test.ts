import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { type BuildProgressEvent, build, EVENTS_VERSION } from "@molt/core";
import { afterAll, beforeAll, expect, inject, test } from "vitest";
import { EVENT_TYPES } from "../../packages/core/test/event-types.js";

const registry = inject("registry");
let dir: string;
let ctx: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "molt-e2e-events-"));
  ctx = join(dir, "ctx");
  await mkdir(ctx);
  await writeFile(join(ctx, "hello.txt"), "hello from the context\n");
  await writeFile(
    join(ctx, "Dockerfile"),
    [
      `FROM ${registry}/test/busybox:latest`,
      "COPY hello.txt /hello.txt",
      "RUN echo from-run && cat /hello.txt && echo to-stderr >&2",
      "",
    ].join("\n"),
  );
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

type Of<T extends BuildProgressEvent["type"]> = Extract<BuildProgressEvent, { type: T }>;

test("one build emits the whole picture: every step framed by start and one end, every part's events inside a step", async () => {
  const events: BuildProgressEvent[] = [];
  const destination = `${registry}/progress/events:1`;
  const result = await build({
    context: ctx,
    destinations: [destination],
    registries: { "*": { insecure: true } },
    onProgress: (e) => events.push(e),
  });
  const types = events.map((e) => e.type);
  // Every event follows the naming of the model and is a member of the union (as typed).
  for (const t of types) expect(t).toMatch(/^molt:[a-z]+:[a-z-]+$/);
  expect(types.filter((t) => !Object.hasOwn(EVENT_TYPES, t))).toEqual([]);
  // Every event about a step carries its id.
  for (const e of events)
    if (EVENT_TYPES[e.type] === "step") expect(typeof (e as { step?: unknown }).step, e.type).toBe("number");

  // Step framing: ids handed out in order, each step's events between its start and its one end.
  const starts = events.filter((e): e is Of<"molt:step:start"> => e.type === "molt:step:start");
  expect(starts.map((s) => s.step)).toEqual(starts.map((_, i) => i + 1));
  const open = new Set<number>();
  const ended = new Set<number>();
  for (const e of events) {
    if (e.type === "molt:step:start") {
      open.add(e.step);
      continue;
    }
    if (!("step" in e)) continue;
    expect(open.has(e.step), `${e.type} of step ${e.step} outside the step`).toBe(true);
    if (e.type === "molt:step:done" || e.type === "molt:step:error" || e.type === "molt:step:canceled") {
      open.delete(e.step);
      expect(ended.has(e.step)).toBe(false);
      ended.add(e.step);
    }
  }
  expect(open.size).toBe(0);
  expect(types.filter((t) => t === "molt:step:done")).toHaveLength(starts.length);

  // The steps, named as BuildKit names them, in order.
  expect(starts.map((s) => [s.kind, s.name])).toEqual([
    ["context", "[internal] load build context"],
    ["from", `[1/3] FROM ${registry}/test/busybox:latest`],
    ["instruction", "[2/3] COPY hello.txt /hello.txt"],
    ["instruction", "[3/3] RUN echo from-run && cat /hello.txt && echo to-stderr >&2"],
    ["output", `pushing ${destination}`],
  ]);
  const [ctxStep, fromStep, copyStep, runStep, pushStep] = starts.map((s) => s.step) as [
    number,
    number,
    number,
    number,
    number,
  ];
  const of = <T extends BuildProgressEvent["type"]>(type: T, step?: number) =>
    events.filter(
      (e): e is Of<T> => e.type === type && (step === undefined || ("step" in e && e.step === step)),
    );

  expect(events[0]).toMatchObject({ type: "molt:step:start", step: ctxStep });
  expect(of("molt:context:ready", ctxStep)).toHaveLength(1);
  expect(of("molt:build:start")).toEqual([
    // --jobs by default: the number of cores.
    { type: "molt:build:start", version: EVENTS_VERSION, stages: 1, target: 0, jobs: availableParallelism() },
  ]);

  // Base resolve.
  const resolved = of("molt:base:resolved", fromStep);
  expect(resolved).toHaveLength(1);
  expect(resolved[0]!.reference).toBe(`${registry}/test/busybox:latest`);
  expect(resolved[0]!.digest).toMatch(/^sha256:[0-9a-f]{64}$/);

  // COPY: the context transfer (one file, its bytes), the root materialised (layer download and
  // extraction happen in the first step that needs the root), one layer written.
  expect(of("molt:context:transfer", copyStep)).toEqual([
    { type: "molt:context:transfer", step: copyStep, files: 1, bytes: "hello from the context\n".length },
  ]);
  const pulled = of("molt:registry:blob-done", copyStep).filter((e) => e.direction === "pull");
  expect(pulled.length).toBeGreaterThan(0);
  for (const p of pulled) {
    expect(p.result).toBe("downloaded");
    const progress = of("molt:registry:blob-progress", copyStep).filter((e) => e.digest === p.digest);
    expect(progress.at(-1)).toMatchObject({ transferred: p.size, total: p.size, direction: "pull" });
  }
  expect(of("molt:snapshot:extract-done", copyStep)).toHaveLength(pulled.length);
  const copyLayer = of("molt:layer:written", copyStep);
  expect(copyLayer).toHaveLength(1);
  expect(copyLayer[0]!.entries).toBe(1);
  // Its digest and size are those of a layer of the image.
  expect(result.manifest.layers.find((l) => l.digest === copyLayer[0]!.digest)?.size).toBe(
    copyLayer[0]!.size,
  );

  // RUN: its output lines by stream, the snapshot, the layer.
  expect(of("molt:step:log", runStep).flatMap((e) => e.lines.map((l) => [e.stream, l]))).toEqual([
    ["stdout", "from-run"],
    ["stdout", "hello from the context"],
    ["stderr", "to-stderr"],
  ]);
  const snap = of("molt:snapshot:changes", runStep);
  expect(snap).toHaveLength(1);
  // Nothing but the shell's own traces could change: at most a few entries.
  expect(snap[0]!.changes).toBeLessThan(5);
  expect(of("molt:build:runner")).toHaveLength(1);

  // Push: one blob event per layer and the config, each done exactly once; then the manifest.
  const pushedBlobs = of("molt:registry:blob-done", pushStep).filter((e) => e.direction === "push");
  const expectedBlobs = [
    ...result.manifest.layers.map((l) => l.digest),
    result.manifest.config.digest,
  ].sort();
  expect(pushedBlobs.map((b) => b.digest).sort()).toEqual(expectedBlobs);
  for (const b of pushedBlobs) expect(["uploaded", "mounted", "exists"]).toContain(b.result);
  const uploaded = pushedBlobs.filter((b) => b.result === "uploaded");
  for (const b of uploaded) {
    const last = of("molt:registry:blob-progress", pushStep)
      .filter((e) => e.digest === b.digest)
      .at(-1);
    expect(last).toMatchObject({ direction: "push", transferred: b.size });
  }
  expect(of("molt:output:pushed", pushStep)).toEqual([
    { type: "molt:output:pushed", step: pushStep, reference: destination, digest: result.digest },
  ]);
  const pushedAt = types.indexOf("molt:output:pushed");
  expect(types.slice(pushedAt).filter((t) => t === "molt:registry:blob-done")).toEqual([]);

  // Done, last.
  expect(events.at(-1)).toEqual({
    type: "molt:build:done",
    digest: result.digest,
    durationMs: expect.any(Number),
  });
});

test("a rebuild from the cache: the cached steps say so (hit, key, store) and end with done, nothing runs", async () => {
  const cacheDir = join(dir, "cache");
  const first: BuildProgressEvent[] = [];
  const again: BuildProgressEvent[] = [];
  const opts = {
    context: ctx,
    noPush: true,
    registries: { "*": { pull: { insecure: true } } },
    cache: { stores: [{ type: "directory", path: cacheDir }] },
    reproducible: true,
  } as const;
  const a = await build({ ...opts, onProgress: (e) => first.push(e) });
  const b = await build({ ...opts, onProgress: (e) => again.push(e) });
  expect(b.digest).toBe(a.digest);
  const cacheEvents = (events: BuildProgressEvent[]) =>
    events.filter((e): e is Of<"molt:step:cache"> => e.type === "molt:step:cache");
  const names = (events: BuildProgressEvent[]) =>
    new Map(events.flatMap((e) => (e.type === "molt:step:start" ? [[e.step, e.name] as const] : [])));
  // First build: COPY and RUN miss (with a reason), second: both hit.
  const firstNames = names(first);
  expect(cacheEvents(first).map((e) => [firstNames.get(e.step), e.hit, typeof e.reason])).toEqual([
    ["[2/3] COPY hello.txt /hello.txt", false, "string"],
    ["[3/3] RUN echo from-run && cat /hello.txt && echo to-stderr >&2", false, "string"],
  ]);
  const againNames = names(again);
  const hits = cacheEvents(again);
  expect(hits.map((e) => [againNames.get(e.step), e.hit])).toEqual([
    ["[2/3] COPY hello.txt /hello.txt", true],
    ["[3/3] RUN echo from-run && cat /hello.txt && echo to-stderr >&2", true],
  ]);
  for (const h of hits) {
    expect(h.key).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(h.store).toContain(cacheDir);
    // A cached step ends normally and did no work: no log, no layer written.
    expect(again.filter((e) => e.type === "molt:step:done" && e.step === h.step)).toHaveLength(1);
    expect(
      again.some(
        (e) =>
          "step" in e && e.step === h.step && (e.type === "molt:step:log" || e.type === "molt:layer:written"),
      ),
    ).toBe(false);
  }
});

test("a failing RUN ends its step with an error naming the process and exit code; the build rejects with the same error", async () => {
  const fctx = join(dir, "fail");
  await mkdir(fctx);
  await writeFile(
    join(fctx, "Dockerfile"),
    `FROM ${registry}/test/busybox:latest\nRUN echo about to fail && exit 3\n`,
  );
  const events: BuildProgressEvent[] = [];
  const err = await build({
    context: fctx,
    noPush: true,
    registries: { "*": { pull: { insecure: true } } },
    onProgress: (e) => events.push(e),
  }).catch((e: unknown) => e);
  expect(err).toMatchObject({ code: "MOLT_RUN_FAILED" });
  const errors = events.filter((e): e is Of<"molt:step:error"> => e.type === "molt:step:error");
  expect(errors).toHaveLength(1);
  expect(errors[0]).toMatchObject({
    code: "MOLT_RUN_FAILED",
    exitCode: 3,
    argv: ["/bin/sh", "-c", "echo about to fail && exit 3"],
    message: (err as Error).message,
  });
  const failedStart = events.find((e) => e.type === "molt:step:start" && e.step === errors[0]!.step);
  expect(failedStart).toMatchObject({ name: "[2/2] RUN echo about to fail && exit 3" });
  expect(events.some((e) => e.type === "molt:build:done")).toBe(false);
  // The last event says the build failed, with the error it rejected with.
  expect(events.at(-1)).toMatchObject({
    type: "molt:build:error",
    code: "MOLT_RUN_FAILED",
    message: (err as Error).message,
  });
});

test("--tar-path: build() forwards the oci part's events, one molt:oci:archive-blob per layer, in the tarball's step", async () => {
  const events: BuildProgressEvent[] = [];
  const tarPath = join(dir, "image.tar");
  const result = await build({
    context: ctx,
    noPush: true,
    tarPath,
    registries: { "*": { pull: { insecure: true } } },
    onProgress: (e) => events.push(e),
  });
  const step = events.find(
    (e) => e.type === "molt:step:start" && e.name === `exporting to docker tarball ${tarPath}`,
  );
  expect(step).toBeDefined();
  const archived = events.filter((e): e is Of<"molt:oci:archive-blob"> => e.type === "molt:oci:archive-blob");
  const layers = result.manifest.layers;
  expect(archived).toEqual(
    layers.map((l, i) => ({
      type: "molt:oci:archive-blob",
      step: (step as Of<"molt:step:start">).step,
      digest: l.digest,
      size: l.size,
      index: i,
      total: layers.length,
    })),
  );
  expect(events.filter((e) => e.type === "molt:output:written")).toMatchObject([
    { kind: "tarball", target: tarPath, digest: result.digest },
  ]);
});
