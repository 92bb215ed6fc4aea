// A stage only read as files (COPY --from, RUN --mount from=) runs its last RUNs straight in its
// root: no snapshot, no layer. The image must be the one a build that records every step makes
// (a snapshotter of the user's turns the shortcut off), stage by stage in parallel or one at a time.
import { lstat, mkdtemp, readFile, readlink, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type BuildProgressEvent, build, createSnapshotter, type SnapshotterFactory } from "molt";
import { afterAll, beforeAll, expect, inject, test } from "vitest";
import { run } from "../harness/exec.js";

const registry = inject("registry");
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "molt-e2e-files-only-"));
  await writeFile(join(dir, "f.txt"), "from the context\n");
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const dockerfile = () =>
  [
    // RUNs only: both straight, and the root needs no overlay (walk mode, no helper).
    `FROM ${registry}/test/busybox:latest AS build`,
    "RUN mkdir /out /out/d && echo built > /out/a && chown 7:8 /out/a && ln -s a /out/link && chmod 750 /out/d",
    // (The hard link is made after the append: an overlay step's copy-up of /out/a would break a
    // link made by an earlier step, which a RUN straight in the root keeps, as walk mode does.)
    "RUN echo more >> /out/a && ln /out/a /out/hard && touch /out/d/empty",
    // A RUN before a COPY and a WORKDIR is recorded (their layers are applied through the
    // baseline); the RUN after them runs straight.
    `FROM ${registry}/test/busybox:latest AS mixed`,
    "RUN mkdir /m && echo one > /m/one && echo keep > /m/keep",
    "COPY f.txt /m/f.txt",
    "WORKDIR /m/w",
    "RUN echo two > two && rm /m/one",
    // Read only by a RUN --mount of the final stage.
    `FROM ${registry}/test/busybox:latest AS mounted`,
    "RUN mkdir /src && echo mounted > /src/file",
    `FROM ${registry}/test/busybox:latest`,
    "COPY --from=build /out /app",
    "COPY --from=mixed /m /m",
    "RUN --mount=type=bind,from=mounted,source=/src,target=/mnt cat /mnt/file > /from-mount",
    "",
  ].join("\n");

/** A snapshotter of the user's: molt then records every RUN of every stage. */
const recording = (steps: string[]): SnapshotterFactory => {
  return async (root, options) => {
    const inner = await createSnapshotter(root, options);
    return {
      get mode() {
        return inner.mode;
      },
      root: inner.root,
      baseline: inner.baseline,
      addIgnored: (paths) => inner.addIgnored(paths),
      close: () => inner.close(),
      begin: async (o) => {
        steps.push(root);
        return inner.begin(o);
      },
    };
  };
};

async function buildOnce(
  name: string,
  jobs: number,
  snapshotter?: SnapshotterFactory,
  snapshotMode?: "walk",
) {
  const events: BuildProgressEvent[] = [];
  const layout = join(dir, name);
  const result = await build({
    context: dir,
    dockerfileText: dockerfile(),
    noPush: true,
    ociLayoutPath: layout,
    registries: { [registry]: { pull: { insecure: true } } },
    sourceDateEpoch: 0,
    jobs,
    tmpDir: dir,
    onProgress: (e) => events.push(e),
    ...(snapshotter ? { snapshotter } : {}),
    ...(snapshotMode ? { snapshotMode } : {}),
  });
  // The stage of each step, then how many layers each stage wrote.
  const stageOf = new Map<number, number>();
  for (const e of events)
    if (e.type === "molt:step:start" && e.stage !== undefined) stageOf.set(e.step, e.stage);
  const written = new Map<number, number>();
  for (const e of events) {
    if (e.type !== "molt:layer:written" || e.step === undefined) continue;
    const s = stageOf.get(e.step)!;
    written.set(s, (written.get(s) ?? 0) + 1);
  }
  return { digest: result.digest, layout, written: Object.fromEntries([...written].sort()) };
}

test("a files-only stage's RUNs write no layer, and the image is the one every step recorded makes (--jobs 1 and 4)", async () => {
  const recorded: string[] = [];
  const full1 = await buildOnce("full-1", 1, recording(recorded));
  const full4 = await buildOnce("full-4", 4, recording([]));
  const walk4 = await buildOnce("walk-4", 4, recording([]), "walk");
  const fast1 = await buildOnce("fast-1", 1);
  const fast4 = await buildOnce("fast-4", 4);
  // Recorded: build 2 RUNs, mixed RUN + COPY + WORKDIR + RUN, mounted 1 RUN, final 2 COPY + RUN.
  expect(full1.written).toEqual({ 0: 2, 1: 4, 2: 1, 3: 3 });
  expect(recorded).toHaveLength(2 + 2 + 1 + 1);
  // Files-only: only mixed's steps before its WORKDIR write layers, and the final stage's.
  for (const fast of [fast1, fast4]) expect(fast.written).toEqual({ 1: 3, 3: 3 });
  expect(fast1.digest).toBe(full1.digest);
  expect(fast4.digest).toBe(full1.digest);
  expect(full4.digest).toBe(full1.digest);
  expect(walk4.digest).toBe(full1.digest);

  // The file tree, as an independent tool unpacks it.
  const bundle = join(dir, "bundle");
  await run("umoci", ["unpack", "--image", `${fast4.layout}:latest`, bundle]);
  const root = join(bundle, "rootfs");
  expect(await readFile(join(root, "app", "a"), "utf8")).toBe("built\nmore\n");
  const a = await stat(join(root, "app", "a"));
  expect([a.uid, a.gid, a.nlink]).toEqual([7, 8, 2]);
  expect((await stat(join(root, "app", "hard"))).ino).toBe(a.ino);
  expect(await readlink(join(root, "app", "link"))).toBe("a");
  expect((await stat(join(root, "app", "d"))).mode & 0o7777).toBe(0o750);
  expect((await lstat(join(root, "app", "d", "empty"))).isFile()).toBe(true);
  expect(await readFile(join(root, "m", "f.txt"), "utf8")).toBe("from the context\n");
  expect(await readFile(join(root, "m", "keep"), "utf8")).toBe("keep\n");
  expect(await readFile(join(root, "m", "w", "two"), "utf8")).toBe("two\n");
  await expect(lstat(join(root, "m", "one"))).rejects.toThrow();
  expect(await readFile(join(root, "from-mount"), "utf8")).toBe("mounted\n");
}, 240_000);
