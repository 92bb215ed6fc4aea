import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, inject, test } from "vitest";
import { run } from "../harness/exec.js";

const registry = inject("registry");
const EXAMPLE = join(import.meta.dirname, "..", "..", "examples", "progress-bar", "progress-bar.mjs");
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "molt-e2e-bar-"));
  await writeFile(
    join(dir, "Dockerfile"),
    `FROM ${registry}/test/busybox:latest\nRUN echo hi > /hi\nENV A=1\n`,
  );
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

test("examples/progress-bar draws a bar from the events alone, ending at 100%", async () => {
  const layout = join(dir, "layout");
  const r = await run(process.execPath, [EXAMPLE, dir, layout, "--insecure-pull"], { allowFail: true });
  expect(r.code, r.stderr).toBe(0);
  expect(r.stdout.trim()).toMatch(/^sha256:[0-9a-f]{64}$/);
  const lines = r.stderr.trim().split("\n");
  // Steps: load context, FROM, RUN, ENV, the OCI layout output = 5.
  expect(lines.at(-1)).toMatch(/^\[#{30}\] 100% 5\/5 steps \d+\.\dMB done$/);
  expect(lines.some((l) => l.includes("[3/3] ENV A=1"))).toBe(true);
  // The bar only grows.
  const counts = lines.map((l) => Number(/ (\d+)\/\d+ steps/.exec(l)?.[1]));
  expect(counts).toEqual([...counts].sort((a, b) => a - b));
});
