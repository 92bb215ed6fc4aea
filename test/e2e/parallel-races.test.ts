import { mkdir, mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type BuildProgressEvent, build } from "@molt/core";
import { afterAll, beforeAll, expect, inject, test } from "vitest";
import { writeContext } from "../harness/context-dir.js";
import { run } from "../harness/exec.js";

const registry = inject("registry");
const BASE = `${registry}/test/busybox:latest`;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "molt-e2e-races-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/**
 * Many stages on one base, made to collide: six stages start together and materialise the same
 * base layer; two "twin" stages write byte-identical layers into the one blob store; stages read
 * the same context file; a stage built on another and a COPY --from chain; an image pulled by two
 * stages' COPY --from at once. The final stage gathers everything, so a file landing in the wrong
 * stage (a shared temp dir, a step id mixed up) changes the image.
 */
const STAGES = ["s1", "s2", "s3", "s4"];
const DOCKERFILE = [
  ...STAGES.flatMap((s) => [
    `FROM ${BASE} AS ${s}`,
    "COPY shared.txt /in/shared.txt",
    // The sleep holds each RUN open long enough that the racing stages' RUNs overlap whatever
    // the machine's load (the check below needs one to start before another ends).
    `RUN mkdir -p /out && echo ${s} > /out/${s} && cat /in/shared.txt >> /out/${s} && ls / > /out/${s}.ls && sleep 1`,
  ]),
  `FROM ${BASE} AS twin1`,
  "RUN echo same > /twin",
  `FROM ${BASE} AS twin2`,
  "RUN echo same > /twin",
  "FROM s1 AS s1b",
  "COPY --from=s2 /out/s2 /out/from-s2",
  "RUN cat /out/s1 /out/from-s2 > /out/s1b",
  "FROM scratch AS pick1",
  `COPY --from=${BASE} /bin/busybox /bb1`,
  "FROM scratch AS pick2",
  `COPY --from=${BASE} /bin/busybox /bb2`,
  "FROM scratch",
  ...STAGES.map((s) => `COPY --from=${s} /out/ /${s}/`),
  "COPY --from=twin1 /twin /twin1",
  "COPY --from=twin2 /twin /twin2",
  "COPY --from=s1b /out/s1b /s1b",
  "COPY --from=pick1 /bb1 /bb1",
  "COPY --from=pick2 /bb2 /bb2",
  "",
].join("\n");

async function buildOnce(ctx: string, jobs: number, round: number) {
  const events: BuildProgressEvent[] = [];
  const tmp = join(dir, `tmp-${jobs}-${round}`);
  await mkdir(tmp);
  const layout = join(dir, `layout-${jobs}-${round}`);
  const result = await build({
    context: ctx,
    noPush: true,
    ociLayoutPath: layout,
    registries: { "*": { pull: { insecure: true } } },
    reproducible: true,
    jobs,
    tmpDir: tmp,
    onProgress: (e) => events.push(e),
  });
  // Nothing of the build's own is left: no temp dir, no mount.
  expect(await readdir(tmp)).toEqual([]);
  expect(await readFile("/proc/self/mountinfo", "utf8")).not.toContain(tmp);
  return { result, events, layout };
}

/** Every step id starts once and ends once, and every event about a step names a started one. */
function checkStepIds(events: BuildProgressEvent[]): number {
  const started = new Map<number, string>();
  const ended = new Set<number>();
  for (const e of events) {
    if (e.type === "molt:step:start") {
      expect(started.has(e.step)).toBe(false);
      started.set(e.step, e.name);
    } else if ("step" in e && typeof e.step === "number") {
      expect(started.has(e.step)).toBe(true);
      expect(ended.has(e.step) ? `${e.type} after step ${e.step} (${started.get(e.step)}) ended` : "").toBe(
        "",
      );
      if (e.type === "molt:step:done") ended.add(e.step);
    }
  }
  expect([...ended].sort((a, b) => a - b)).toEqual([...started.keys()].sort((a, b) => a - b));
  return started.size;
}

test("stages racing on one base at --jobs 4 give the image --jobs 1 gives, every time", async () => {
  const ctx = await writeContext(join(dir, "ctx"), DOCKERFILE, { "shared.txt": "from the context\n" });
  const one = await buildOnce(ctx, 1, 0);
  const steps = checkStepIds(one.events);
  // context, then per stage FROM + its steps: 4 × 3, 2 × 2 (twins), 3 (s1b), 2 × 2 (picks),
  // final 1 + 9; then the OCI layout output.
  expect(steps).toBe(1 + 4 * 3 + 2 * 2 + 3 + 2 * 2 + 10 + 1);
  for (let round = 1; round <= 3; round++) {
    const four = await buildOnce(ctx, 4, round);
    expect(checkStepIds(four.events)).toBe(steps);
    expect(four.result.manifest.layers.map((l) => l.digest)).toEqual(
      one.result.manifest.layers.map((l) => l.digest),
    );
    expect(four.result.digest).toBe(one.result.digest);
    // The stages did overlap (else this test proves nothing about races): some RUN of one stage
    // started before a RUN of another ended.
    const order = four.events.flatMap((e) =>
      e.type === "molt:step:start" && e.name.includes(" RUN ")
        ? [`start ${e.step}`]
        : e.type === "molt:step:done"
          ? [`end ${e.step}`]
          : [],
    );
    const firstEnd = order.findIndex((x) => x.startsWith("end ") && order.includes(`start ${x.slice(4)}`));
    expect(
      order.slice(0, Math.max(0, firstEnd)).filter((x) => x.startsWith("start ")).length,
    ).toBeGreaterThan(1);
  }
  // What the image holds, read by GNU tar from the layout (not by molt): each stage's own files.
  const files = new Map<string, string>();
  for (const l of one.result.manifest.layers) {
    const blob = join(one.layout, "blobs", "sha256", l.digest.slice("sha256:".length));
    const list = (await run("tar", ["-tzf", blob])).stdout.split("\n").filter(Boolean);
    for (const f of list) files.set(f.replace(/^\.\//, ""), l.digest);
  }
  for (const s of STAGES) expect(files.has(`${s}/${s}`)).toBe(true);
  expect([...files.keys()].filter((f) => /^s\d\/s\d$/.test(f)).sort()).toEqual(
    STAGES.map((s) => `${s}/${s}`),
  );
  expect(files.has("s1b")).toBe(true);
  expect(files.has("twin1") && files.has("twin2") && files.has("bb1") && files.has("bb2")).toBe(true);
}, 300_000);
