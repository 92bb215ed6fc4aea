import { createHash } from "node:crypto";
import { mkdir, mkdtemp, readdir, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type BuildProgressEvent, type BuildResult, build } from "@molt/core";
import { afterAll, beforeAll, describe, expect, inject, test } from "vitest";
import { writeContext } from "../harness/context-dir.js";
import { run } from "../harness/exec.js";

// What parallel stages of one build share besides the base and the blob store (see
// parallel-races.test.ts): cache mount directories (`RUN --mount=type=cache`) and the local
// layer cache (`--cache-dir`), both written by several stages at the same moment.
const registry = inject("registry");
const BASE = `${registry}/test/busybox:latest`;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "molt-e2e-shared-state-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function buildOnce(
  ctx: string,
  name: string,
  options: {
    jobs: number;
    cacheMountDir?: string;
    cacheDir?: string;
    cacheMaxBytes?: number;
    snapshotMode?: "walk" | "overlay";
  },
): Promise<{ result: BuildResult; events: BuildProgressEvent[]; layout: string }> {
  const { cacheDir, cacheMaxBytes, cacheMountDir, ...rest } = options;
  // --cache-dir with --cache-max-bytes, as build() takes them
  const cache = cacheDir
    ? {
        cache: {
          stores: [
            {
              type: "directory" as const,
              path: cacheDir,
              ...(cacheMaxBytes ? { maxBytes: cacheMaxBytes } : {}),
            },
          ],
        },
      }
    : {};
  const events: BuildProgressEvent[] = [];
  const tmp = join(dir, `tmp-${name}`);
  await mkdir(tmp);
  const layout = join(dir, `layout-${name}`);
  const result = await build({
    context: ctx,
    noPush: true,
    ociLayoutPath: layout,
    registries: { "*": { pull: { insecure: true } } },
    reproducible: true,
    tmpDir: tmp,
    onProgress: (e) => events.push(e),
    ...rest,
    ...cache,
    ...(cacheMountDir ? { cacheMounts: { dir: cacheMountDir } } : {}),
  });
  // Nothing of the build's own is left: no temp dir, no mount.
  expect(await readdir(tmp)).toEqual([]);
  expect(await readFile("/proc/self/mountinfo", "utf8")).not.toContain(tmp);
  return { result, events, layout };
}

/** The image's files, unpacked by GNU tar from the layout's layers in order (not by molt). */
async function unpack(layout: string, result: BuildResult, into: string): Promise<string> {
  await mkdir(into, { recursive: true });
  for (const l of result.manifest.layers) {
    const blob = join(layout, "blobs", "sha256", l.digest.slice("sha256:".length));
    const r = await run("tar", ["-xzf", blob, "-C", into]);
    if (r.code !== 0) throw new Error(`tar: ${r.stderr}`);
  }
  return into;
}

const lines = async (p: string) => (await readFile(p, "utf8")).split("\n").filter(Boolean);

/** Each stage WHO waits in its RUN until stage OTHER has written its name into /rv too. */
const RENDEZVOUS =
  "touch /rv/$WHO; i=0; while [ ! -e /rv/$OTHER ] && [ $i -lt 1200 ]; do sleep 0.05; i=$((i+1)); done; test -e /rv/$OTHER";
const pair = (a: string, b: string, body: (who: string) => string[]) =>
  [
    [a, b],
    [b, a],
  ].flatMap(([who, other]) => [`FROM ${BASE} AS ${who}`, `ENV WHO=${who} OTHER=${other}`, ...body(who!)]);

describe("parallel stages sharing state", () => {
  test("cache mounts: shared is one directory for stages at once, private one each, locked one at a time, a seed copied once; all made fresh by racing stages", async () => {
    const cacheMountDir = join(dir, "cache-mounts");
    const dockerfile = [
      `FROM ${BASE} AS seed`,
      "RUN mkdir /seed && echo seeded > /seed/s",
      // Both stages create the new cache "rv" at the same moment and meet in it.
      ...pair("a", "b", () => [`RUN --mount=type=cache,id=rv,target=/rv ${RENDEZVOUS} && ls /rv > /seen`]),
      ...pair("c", "d", () => [
        `RUN --mount=type=cache,id=rv-cd,target=/rv --mount=type=cache,id=priv,sharing=private,target=/p touch /p/$WHO; ${RENDEZVOUS} && ls /p > /seen`,
      ]),
      ...pair("e", "f", () => [
        "RUN --mount=type=cache,id=serial,sharing=locked,target=/c echo start-$WHO >> /c/log && sleep 0.5 && echo end-$WHO >> /c/log && touch /done",
      ]),
      ...pair("g", "h", () => [
        `RUN --mount=type=cache,id=rv-gh,target=/rv --mount=type=cache,id=seeded,from=seed,source=/seed,target=/s ${RENDEZVOUS} && cat /s/s > /seen && echo $WHO >> /s/writers`,
      ]),
      // Read what the racing stages left in the caches, once they are all done.
      `FROM ${BASE} AS reader`,
      "COPY --from=e /done /e-done",
      "COPY --from=f /done /f-done",
      "COPY --from=g /seen /g-seen",
      "COPY --from=h /seen /h-seen",
      "RUN --mount=type=cache,id=serial,target=/c --mount=type=cache,id=seeded,target=/s cp /c/log /log && sort /s/writers > /writers && ls /s > /seeded-ls",
      "FROM scratch",
      ...["a", "b", "c", "d", "g", "h"].map((s) => `COPY --from=${s} /seen /${s}`),
      "COPY --from=reader /log /writers /seeded-ls /",
      "",
    ].join("\n");
    const ctx = await writeContext(join(dir, "ctx-mounts"), dockerfile, {});
    // Every stage at once (each pair must run together to meet).
    const { result, layout } = await buildOnce(ctx, "mounts", { jobs: 16, cacheMountDir });
    const fs = await unpack(layout, result, join(dir, "fs-mounts"));
    expect(await lines(join(fs, "a"))).toEqual(["a", "b"]);
    expect(await lines(join(fs, "b"))).toEqual(["a", "b"]);
    expect(await lines(join(fs, "c"))).toEqual(["c"]);
    expect(await lines(join(fs, "d"))).toEqual(["d"]);
    const log = await lines(join(fs, "log"));
    expect(log).toHaveLength(4);
    // never interleaved: each start is followed by its own end
    expect(log[1]).toBe(log[0]!.replace("start", "end"));
    expect(log[3]).toBe(log[2]!.replace("start", "end"));
    expect(new Set([log[0], log[2]])).toEqual(new Set(["start-e", "start-f"]));
    expect(await lines(join(fs, "g"))).toEqual(["seeded"]);
    expect(await lines(join(fs, "h"))).toEqual(["seeded"]);
    expect(await lines(join(fs, "writers"))).toEqual(["g", "h"]);
    expect(await lines(join(fs, "seeded-ls"))).toEqual(["s", "writers"]);
    // On disk: one directory per id, instance 0 only (private: 0 and 1), no half-made directory.
    const ids = new Map<string, string[]>();
    for (const d of await readdir(cacheMountDir)) {
      const id = await readFile(join(cacheMountDir, d, "id"), "utf8");
      ids.set(id, (await readdir(join(cacheMountDir, d))).sort());
    }
    expect([...ids.keys()].sort()).toEqual(["priv", "rv", "rv-cd", "rv-gh", "seeded", "serial"]);
    for (const [id, entries] of ids) {
      expect(entries).toEqual(id === "priv" ? ["0", "0.lock", "1", "1.lock", "id"] : ["0", "0.lock", "id"]);
    }
  }, 300_000);

  test("stages sharing one extracted base see their own changes in walk and overlay mode: --jobs 4 gives the layers --jobs 1 gives", async () => {
    // Each stage changes files of the base in place (append, chmod, delete, a new file), which
    // walk mode tells from the baseline's inode, ctime and size: a copied root must have its own.
    // At --jobs 4 one of them extracts the base and the others copy its root (at --jobs 1 nothing
    // is shared): the image, built on w3 with w1's and w2's files copied in, must be the same.
    const stages = ["w1", "w2", "w3"];
    const dockerfile = [
      ...stages.flatMap((s) => [
        `FROM ${BASE} AS ${s}`,
        `RUN echo ${s} >> /etc/group && chmod 600 /etc/passwd && rm /bin/ls && echo ${s} > /new-${s}`,
      ]),
      "FROM w3",
      "COPY --from=w1 /etc/group /w1-group",
      "COPY --from=w2 /etc/group /w2-group",
      "",
    ].join("\n");
    const ctx = await writeContext(join(dir, "ctx-walk"), dockerfile, {});
    for (const snapshotMode of ["walk", "overlay"] as const) {
      const one = await buildOnce(ctx, `${snapshotMode}-1`, { jobs: 1, snapshotMode });
      const four = await buildOnce(ctx, `${snapshotMode}-4`, { jobs: 4, snapshotMode });
      expect(four.result.manifest.layers.map((l) => l.digest)).toEqual(
        one.result.manifest.layers.map((l) => l.digest),
      );
      expect(four.result.digest).toBe(one.result.digest);
      // w3's RUN layer, read by GNU tar: exactly its changes.
      const runLayer = four.result.manifest.layers.at(-3)!;
      const blob = join(four.layout, "blobs", "sha256", runLayer.digest.slice(7));
      const listing = (await run("tar", ["-tzvf", blob])).stdout;
      expect(listing).toMatch(/-rw------- 0\/0 .* etc\/passwd/);
      expect(listing).toContain("bin/.wh.ls");
      expect(listing).toContain("new-w3");
      expect(listing).not.toContain("new-w1");
      const fs = await unpack(four.layout, four.result, join(dir, `fs-${snapshotMode}`));
      for (const s of ["w1", "w2"]) expect((await lines(join(fs, `${s}-group`))).at(-1)).toBe(s);
      expect((await lines(join(fs, "etc/group"))).at(-1)).toBe("w3");
    }
  }, 300_000);

  test("--cache-dir: parallel stages (twins with one key among them) write a cache that a --jobs 4 and a --jobs 1 build then take whole", async () => {
    const cacheDir = join(dir, "cache-dir");
    const stages = ["s1", "s2", "s3"];
    const dockerfile = [
      ...stages.flatMap((s) => [
        `FROM ${BASE} AS ${s}`,
        "COPY shared.txt /in/",
        `RUN echo ${s} > /${s} && cat /in/shared.txt >> /${s}`,
      ]),
      // Same chain, so the same key and the same layer, put by two stages at once.
      `FROM ${BASE} AS twin1`,
      "RUN echo same > /twin",
      `FROM ${BASE} AS twin2`,
      "RUN echo same > /twin",
      "FROM scratch",
      ...stages.map((s) => `COPY --from=${s} /${s} /${s}`),
      "COPY --from=twin1 /twin /twin1",
      "COPY --from=twin2 /twin /twin2",
      "",
    ].join("\n");
    const ctx = await writeContext(join(dir, "ctx-cache"), dockerfile, { "shared.txt": "shared\n" });
    // With a size limit, so the puts also go through the cache's lock and pruning.
    const limit = { cacheDir, cacheMaxBytes: 64 * 1024 * 1024 };
    const cold = await buildOnce(ctx, "cold", { jobs: 4, ...limit });
    const cacheEvents = (events: BuildProgressEvent[]) =>
      events.flatMap((e) => (e.type === "molt:step:cache" ? [e.hit] : []));
    expect(cacheEvents(cold.events).some((hit) => hit)).toBe(false);
    // The stages did overlap (else this proves nothing about races): more than one RUN started
    // before the first one ended.
    const runs = new Set<number>();
    const order = cold.events.flatMap((e) => {
      if (e.type === "molt:step:start" && e.name.includes(" RUN ")) {
        runs.add(e.step);
        return ["start"];
      }
      return e.type === "molt:step:done" && runs.has(e.step) ? ["end"] : [];
    });
    expect(order.slice(0, order.indexOf("end")).length).toBeGreaterThan(1);
    // Every record names a blob that is there, whole, with its digest (checked by sha256sum).
    const keys = await readdir(join(cacheDir, "molt-cache", "keys"));
    // One key for the three stages' identical COPY (put by three stages at once), 3 RUN keys, one
    // key for the twins' RUN, the final stage's 5 COPY steps.
    expect(keys.filter((k) => k.endsWith(".json"))).toHaveLength(1 + 3 + 1 + 5);
    expect(keys.filter((k) => !k.endsWith(".json"))).toEqual([]);
    for (const k of keys) {
      const entry = JSON.parse(await readFile(join(cacheDir, "molt-cache", "keys", k), "utf8")) as {
        layer?: { descriptor: { digest: string; size: number } };
      };
      if (!entry.layer) continue;
      const blob = join(cacheDir, "blobs", "sha256", entry.layer.descriptor.digest.slice(7));
      expect((await stat(blob)).size).toBe(entry.layer.descriptor.size);
      const sum = (await run("sha256sum", [blob])).stdout.split(" ")[0];
      expect(`sha256:${sum}`).toBe(entry.layer.descriptor.digest);
    }
    const blobs = await readdir(join(cacheDir, "blobs", "sha256"));
    expect(blobs.filter((b) => !/^[0-9a-f]{64}$/.test(b))).toEqual([]);
    for (const [name, jobs] of [
      ["warm4", 4],
      ["warm1", 1],
    ] as const) {
      const warm = await buildOnce(ctx, name, { jobs, ...limit });
      const hits = cacheEvents(warm.events);
      expect(hits.length).toBe(3 * 2 + 2 + 5);
      expect(hits.every((hit) => hit)).toBe(true);
      expect(warm.result.digest).toBe(cold.result.digest);
    }
    const fs = await unpack(cold.layout, cold.result, join(dir, "fs-cache"));
    for (const s of stages) expect(await lines(join(fs, s))).toEqual([s, "shared"]);
    expect(await lines(join(fs, "twin1"))).toEqual(["same"]);
    expect(await lines(join(fs, "twin2"))).toEqual(["same"]);
  }, 300_000);

  test("--cache-dir: two builds of parallel stages filling one new cache at once both succeed and leave it whole", async () => {
    const cacheDir = join(dir, "cache-dir-two");
    const dockerfile = [
      ...["p", "q", "r"].flatMap((s) => [`FROM ${BASE} AS ${s}`, `RUN echo ${s} > /${s}`]),
      "FROM scratch",
      ...["p", "q", "r"].map((s) => `COPY --from=${s} /${s} /${s}`),
      "",
    ].join("\n");
    const ctx = await writeContext(join(dir, "ctx-two"), dockerfile, {});
    const [x, y] = await Promise.all([
      buildOnce(ctx, "two-x", { jobs: 4, cacheDir }),
      buildOnce(ctx, "two-y", { jobs: 4, cacheDir }),
    ]);
    expect(x.result.digest).toBe(y.result.digest);
    const keys = await readdir(join(cacheDir, "molt-cache", "keys"));
    expect(keys.filter((k) => !k.endsWith(".json"))).toEqual([]);
    expect(keys).toHaveLength(3 + 3);
    const blobs = await readdir(join(cacheDir, "blobs", "sha256"));
    for (const b of blobs) {
      expect(b).toMatch(/^[0-9a-f]{64}$/);
      const sum = createHash("sha256")
        .update(await readFile(join(cacheDir, "blobs", "sha256", b)))
        .digest("hex");
      expect(sum).toBe(b);
    }
    const warm = await buildOnce(ctx, "two-warm", { jobs: 4, cacheDir });
    expect(warm.events.filter((e) => e.type === "molt:step:cache" && !e.hit)).toEqual([]);
    expect(warm.result.digest).toBe(x.result.digest);
  }, 300_000);
});
