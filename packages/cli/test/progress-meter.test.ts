import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { createRenderer } from "../src/progress/index.js";
import { CpuMeter } from "../src/progress/meter.js";

/** Spins for `ms` of wall time (on the CPU, so about as much CPU time). */
function spin(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) {}
}

describe("CpuMeter", () => {
  test("counts the CPU time spent in runs, nested runs once, nothing outside them", () => {
    const m = new CpuMeter();
    m.run(() => spin(30));
    spin(30); // not counted
    m.run(() => m.run(() => spin(30)));
    const { ns, runs } = m.total();
    expect(runs).toBe(2);
    // Never more than the wall time in runs (60 ms and a little), never much less on a core.
    expect(ns).toBeLessThanOrEqual(70e6);
    expect(ns).toBeGreaterThan(5e6);
  });

  test("a renderer made with a CPU file writes its count there when it ends, the output unchanged", () => {
    const dir = mkdtempSync(join(tmpdir(), "molt-meter-"));
    try {
      const file = join(dir, "cpu.json");
      const chunks: string[] = [];
      const r = createRenderer(
        { mode: "plain", level: "info", color: false, timestamps: false },
        { write: (s: string) => chunks.push(s) },
        file,
      );
      r.event({ type: "molt:step:start", step: 1, kind: "instruction", name: "[1/1] RUN x" });
      r.event({ type: "molt:step:log", step: 1, stream: "stdout", lines: ["a", "b"] });
      r.end({});
      expect(chunks.join("").replace(/ \d+\.\d{3} /g, " T ")).toBe("#1 [1/1] RUN x\n#1 T a\n#1 T b\n");
      const got = JSON.parse(readFileSync(file, "utf8")) as { ns: number; runs: number };
      expect(got.runs).toBe(4); // made, two events, end
      expect(got.ns).toBeGreaterThanOrEqual(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
