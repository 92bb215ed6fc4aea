import type { BuildProgressEvent } from "@molt/core";
import { afterEach, beforeEach, describe, expect, test, vi } from "vitest";
import { PlainRenderer, TtyRenderer } from "../src/progress/index.js";

// The display throttles what it draws, never what it keeps: a step printing a lot costs one
// frame per interval in the tty view, and the log stays whole.

function sink() {
  const chunks: string[] = [];
  return { out: { write: (s: string) => chunks.push(s) }, chunks, text: () => chunks.join("") };
}

const start = (step: number, name: string): BuildProgressEvent => ({
  type: "molt:step:start",
  step,
  kind: "instruction",
  name,
});
const DIGEST = `sha256:${"ab12".repeat(16)}` as const;

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe("TtyRenderer", () => {
  test("10,000 log events in one second draw about ten frames; the failed step's report still has every line", () => {
    const s = sink();
    const r = new TtyRenderer(s.out, { level: "info", columns: 80, redrawMs: 100 });
    r.event(start(3, "[2/2] RUN spam"));
    for (let i = 1; i <= 10_000; i++) {
      r.event({ type: "molt:step:log", step: 3, stream: "stdout", lines: [`line ${i}`] });
      if (i % 10 === 0) vi.advanceTimersByTime(1);
    }
    const frames = s.chunks.length;
    expect(frames).toBeGreaterThanOrEqual(9);
    expect(frames).toBeLessThanOrEqual(11);
    // The last frame shows the tail.
    const last = s.chunks.at(-1)!;
    expect(last).toContain(" => => # line 10000");
    expect(last).not.toContain(" => => # line 9994\n");
    r.event({ type: "molt:step:error", step: 3, durationMs: 1000, message: "boom" });
    r.end({ error: new Error("boom") });
    const report = s.text().slice(s.text().indexOf("------\n"));
    const logged = report.split("\n").filter((l) => l.startsWith("line "));
    expect(logged).toHaveLength(10_000);
    expect(logged.every((l, k) => l === `line ${k + 1}`)).toBe(true);
  });

  test("a running step's transfers show their bytes of total in the view, and leave it when done", () => {
    const s = sink();
    const r = new TtyRenderer(s.out, { level: "info", columns: 100, redrawMs: 100 });
    r.event(start(2, "[1/2] FROM example/base"));
    const progress = (transferred: number): BuildProgressEvent => ({
      type: "molt:registry:blob-progress",
      step: 2,
      direction: "pull",
      registry: "example",
      repository: "base",
      digest: DIGEST,
      transferred,
      total: 40_100_000,
    });
    r.event(progress(1_000_000));
    r.event(progress(12_300_000));
    vi.advanceTimersByTime(100);
    expect(s.chunks.at(-1)).toMatch(/^ => => sha256:ab12ab12ab12 12\.3MB \/ 40\.1MB +\d+\.\ds$/m);
    r.event({
      type: "molt:registry:blob-done",
      step: 2,
      direction: "pull",
      registry: "example",
      repository: "base",
      digest: DIGEST,
      size: 40_100_000,
      result: "downloaded",
    });
    vi.advanceTimersByTime(100);
    expect(s.chunks.at(-1)).not.toContain("sha256:ab12ab12ab12");
    r.end({});
  });
});

describe("PlainRenderer", () => {
  test("a transfer's in-flight line is printed at most once a second; its done line always", () => {
    const s = sink();
    const r = new PlainRenderer(s.out, { level: "info" });
    r.event(start(2, "[1/2] FROM example/base"));
    for (let i = 1; i <= 300; i++) {
      r.event({
        type: "molt:registry:blob-progress",
        step: 2,
        direction: "pull",
        registry: "example",
        repository: "base",
        digest: DIGEST,
        transferred: i * 100_000,
        total: 40_100_000,
      });
      vi.advanceTimersByTime(10);
    }
    r.event({
      type: "molt:registry:blob-done",
      step: 2,
      direction: "pull",
      registry: "example",
      repository: "base",
      digest: DIGEST,
      size: 40_100_000,
      result: "downloaded",
    });
    r.end();
    const lines = s.text().trimEnd().split("\n");
    const inFlight = lines.filter((l) => /^#2 sha256:ab12ab12ab12 [\d.]+MB \/ 40\.1MB \d+\.\ds$/.test(l));
    // 3 seconds of events: an in-flight line about once a second, not 300.
    expect(inFlight.length).toBeGreaterThanOrEqual(2);
    expect(inFlight.length).toBeLessThanOrEqual(3);
    expect(lines.at(-1)).toMatch(/^#2 sha256:ab12ab12ab12 40\.1MB \/ 40\.1MB 3\.0s done$/);
  });
});
