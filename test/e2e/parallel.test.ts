import { mkdir, mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type BuildProgressEvent, build } from "@molt/core";
import { afterAll, beforeAll, expect, inject, test } from "vitest";
import { writeContext } from "../harness/context-dir.js";

const registry = inject("registry");
const BASE = `${registry}/test/busybox:latest`;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "molt-e2e-parallel-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Three independent stages that each take a while, and a final stage that needs all three. */
const GRAPH = [
  `FROM ${BASE} AS a`,
  "RUN sleep 1 && echo a > /a",
  `FROM ${BASE} AS b`,
  "RUN sleep 1 && echo b > /b",
  `FROM ${BASE} AS c`,
  "RUN sleep 1 && echo c > /c",
  "FROM scratch",
  "COPY --from=a /a /a",
  "COPY --from=b /b /b",
  "COPY --from=c /c /c",
  "",
].join("\n");

/** Pids of the processes whose environment holds `NAME=value` (read from /proc, as root). */
async function processesWith(name: string, value: string): Promise<number[]> {
  const found: number[] = [];
  for (const entry of await readdir("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const environ = await readFile(`/proc/${entry}/environ`, "latin1").catch(() => "");
    if (environ.split("\0").includes(`${name}=${value}`)) found.push(Number(entry));
  }
  return found;
}

const context = (name: string, dockerfile: string): Promise<string> =>
  writeContext(join(dir, name), dockerfile);

/** Builds with `jobs`, returning the digest and the step events in order (with their names). */
async function buildWith(ctx: string, jobs: number, extra: { tmpDir?: string; signal?: AbortSignal } = {}) {
  const events: BuildProgressEvent[] = [];
  const result = await build({
    context: ctx,
    noPush: true,
    ociLayoutPath: join(dir, `layout-${jobs}-${Math.random().toString(36).slice(2)}`),
    registries: { "*": { pull: { insecure: true } } },
    reproducible: true,
    jobs,
    onProgress: (e) => events.push(e),
    ...extra,
  });
  return { result, events };
}

/** `start NAME` / `end NAME` for every step, in the order the build reported them. */
function timeline(events: BuildProgressEvent[]): string[] {
  const names = new Map<number, string>();
  const out: string[] = [];
  for (const e of events) {
    if (e.type === "molt:step:start") {
      names.set(e.step, e.name);
      out.push(`start ${e.name}`);
    } else if (
      e.type === "molt:step:done" ||
      e.type === "molt:step:error" ||
      e.type === "molt:step:canceled"
    ) {
      out.push(`${e.type === "molt:step:done" ? "end" : e.type.slice(10)} ${names.get(e.step)}`);
    }
  }
  return out;
}

test("independent stages overlap with --jobs 4, run one after another with --jobs 1, and give the same image", async () => {
  const ctx = await context("graph", GRAPH);
  const four = await buildWith(ctx, 4);
  const one = await buildWith(ctx, 1);
  expect(four.result.digest).toBe(one.result.digest);
  expect(four.result.manifest.layers.map((l) => l.digest)).toEqual(
    one.result.manifest.layers.map((l) => l.digest),
  );

  const runs = [
    "[a 2/2] RUN sleep 1 && echo a > /a",
    "[b 2/2] RUN sleep 1 && echo b > /b",
    "[c 2/2] RUN sleep 1 && echo c > /c",
  ];
  const t4 = timeline(four.events);
  // Overlap: every RUN started before the first of them ended.
  const firstRunEnd = Math.min(...runs.map((r) => t4.indexOf(`end ${r}`)));
  for (const r of runs) expect(t4.indexOf(`start ${r}`)).toBeLessThan(firstRunEnd);
  // The final stage (FROM scratch) starts at once; each COPY --from waits for its stage only.
  expect(t4.indexOf("end [stage-3 1/4] FROM scratch")).toBeLessThan(firstRunEnd);
  for (const [k, s] of ["a", "b", "c"].entries()) {
    expect(t4.indexOf(`end ${runs[k]}`)).toBeLessThan(
      t4.indexOf(`end [stage-3 ${k + 2}/4] COPY --from=${s} /${s} /${s}`),
    );
  }
  expect(four.events.find((e) => e.type === "molt:build:start")).toMatchObject({ jobs: 4 });

  // --jobs 1: each step ends before the next one starts, in Dockerfile order.
  const t1 = timeline(one.events);
  for (let i = 0; i < t1.length; i += 2) {
    expect(t1[i]).toMatch(/^start /);
    expect(t1[i + 1]).toBe(`end ${t1[i]!.slice(6)}`);
  }
  expect(t1.filter((l) => l.startsWith("start [")).map((l) => l.slice(6))).toEqual([
    "[internal] load build context",
    `[a 1/2] FROM ${BASE}`,
    runs[0],
    `[b 1/2] FROM ${BASE}`,
    runs[1],
    `[c 1/2] FROM ${BASE}`,
    runs[2],
    "[stage-3 1/4] FROM scratch",
    "[stage-3 2/4] COPY --from=a /a /a",
    "[stage-3 3/4] COPY --from=b /b /b",
    "[stage-3 4/4] COPY --from=c /c /c",
  ]);
});

test("a stage waits for the stage it is based on only: an unrelated slow stage keeps running meanwhile", async () => {
  const ctx = await context(
    "chain",
    [
      `FROM ${BASE} AS slow`,
      "RUN sleep 2 && echo slow > /slow",
      `FROM ${BASE} AS base`,
      "RUN echo base > /base",
      "FROM base AS derived",
      "RUN cat /base > /derived",
      "FROM scratch",
      "COPY --from=slow /slow /slow",
      "COPY --from=derived /derived /derived",
      "",
    ].join("\n"),
  );
  const { events } = await buildWith(ctx, 4);
  const t = timeline(events);
  const derived = t.indexOf("start [derived 2/2] RUN cat /base > /derived");
  expect(t.indexOf("end [base 2/2] RUN echo base > /base")).toBeLessThan(derived);
  expect(derived).toBeLessThan(t.indexOf("end [slow 2/2] RUN sleep 2 && echo slow > /slow"));
});

test("a stage starts once its base is ready: its own steps run while the stage it copies from still runs, and it waits at the COPY", async () => {
  const ctx = await context(
    "lazy",
    [
      `FROM ${BASE} AS slow`,
      "RUN sleep 3 && echo slow > /slow",
      `FROM ${BASE} AS app`,
      "RUN echo own > /own",
      "COPY --from=slow /slow /slow",
      "RUN cat /own /slow > /both",
      "",
    ].join("\n"),
  );
  const { events, result } = await buildWith(ctx, 4);
  const t = timeline(events);
  const slowEnd = t.indexOf("end [slow 2/2] RUN sleep 3 && echo slow > /slow");
  // The app stage did not wait for "slow" to start its own work...
  expect(t.indexOf("end [app 2/4] RUN echo own > /own")).toBeLessThan(slowEnd);
  // ...but its COPY --from=slow ended only after "slow" had, and so did everything after it.
  expect(t.indexOf("start [app 3/4] COPY --from=slow /slow /slow")).toBeLessThan(slowEnd);
  expect(t.indexOf("end [app 3/4] COPY --from=slow /slow /slow")).toBeGreaterThan(slowEnd);
  expect(t.indexOf("start [app 4/4] RUN cat /own /slow > /both")).toBeGreaterThan(slowEnd);
  // The same image as one stage after the other.
  const one = await buildWith(ctx, 1);
  expect(result.digest).toBe(one.result.digest);
});

test("the first failure cancels its running siblings and a step waiting for the failed stage, names the failing step, and leaves nothing behind", async () => {
  // The sibling's sleep carries this in its environment, so it can be found while it runs (and after).
  const mark = `parallel-${process.pid}-${Date.now()}`;
  const ctx = await context(
    "fail",
    [
      `FROM ${BASE} AS long`,
      `RUN echo started && MOLT_MARK=${mark} sleep 30`,
      `FROM ${BASE} AS broken`,
      "RUN sleep 1 && exit 3",
      "FROM scratch",
      "COPY --from=broken /etc/passwd /b",
      "COPY --from=long /etc/passwd /a",
      "",
    ].join("\n"),
  );
  const tmp = join(dir, "fail-tmp");
  await mkdir(tmp);
  const events: BuildProgressEvent[] = [];
  const started = Date.now();
  let seen = false;
  let watching = true;
  const watch = (async () => {
    while (watching && !seen) {
      seen = (await processesWith("MOLT_MARK", mark)).length > 0;
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  const err = await build({
    context: ctx,
    noPush: true,
    ociLayoutPath: join(dir, "fail-layout"),
    registries: { "*": { pull: { insecure: true } } },
    jobs: 4,
    tmpDir: tmp,
    onProgress: (e) => events.push(e),
  }).catch((e: unknown) => e);
  watching = false;
  await watch;
  expect(err).toMatchObject({ code: "MOLT_RUN_FAILED", exitCode: 3 });
  // The sibling's process ran (the check below can see one) and is gone once build() settled.
  expect(seen).toBe(true);
  expect(await processesWith("MOLT_MARK", mark)).toEqual([]);
  // The 30-second sibling was stopped, not waited for.
  expect(Date.now() - started).toBeLessThan(20_000);
  const t = timeline(events);
  expect(t).toContain("error [broken 2/2] RUN sleep 1 && exit 3");
  expect(t).toContain(`canceled [long 2/2] RUN echo started && MOLT_MARK=${mark} sleep 30`);
  expect(t.filter((l) => l.startsWith("error "))).toHaveLength(1);
  // The final stage started (its base is scratch) and its COPY waiting for "broken" was canceled,
  // not failed; the step after it never started.
  expect(t).toContain("canceled [stage-2 2/3] COPY --from=broken /etc/passwd /b");
  expect(t.some((l) => l.includes("[stage-2 3/3]"))).toBe(false);
  expect(await readdir(tmp)).toEqual([]);
  expect(await readFile("/proc/self/mountinfo", "utf8")).not.toContain(tmp);
});
