import type { BuildProgressEvent } from "@molt/core";
import { describe, expect, test, vi } from "vitest";
import { JsonRenderer, PlainRenderer, type Renderer, TtyRenderer } from "../src/progress/index.js";

/** A renderer's output, collected; `drain` waits for its batched writes. */
function sink() {
  const chunks: string[] = [];
  return {
    out: { write: (s: string) => chunks.push(s) },
    text: () => chunks.join(""),
    writes: () => chunks.length,
  };
}

const start: BuildProgressEvent = {
  type: "molt:step:start",
  step: 3,
  kind: "instruction",
  name: "[2/2] RUN seq 3",
  stage: 0,
  index: 2,
  of: 2,
  instruction: "RUN seq 3",
};
const log = (step: number, line: string | string[], partial?: boolean): BuildProgressEvent => {
  const lines = typeof line === "string" ? [line] : line;
  return partial
    ? { type: "molt:step:log", step, stream: "stdout", lines, partial }
    : { type: "molt:step:log", step, stream: "stderr", lines };
};

describe("JsonRenderer", () => {
  test("every event is one line: v, time, then the event's fields in order; log lines too, quoting intact", () => {
    const s = sink();
    const r = new JsonRenderer(s.out, { level: "info" });
    r.event(start);
    r.event(log(3, ['say "hi"\t\\ \u0001 €', "", "two"]));
    r.event(log(3, "long piece", true));
    r.event({ type: "molt:step:done", step: 3, durationMs: 12.5 });
    r.end({});
    const lines = s.text().split("\n");
    expect(lines.at(-1)).toBe("");
    const parsed = lines.slice(0, -1).map((l) => JSON.parse(l) as Record<string, unknown>);
    for (const p of parsed) {
      expect(Object.keys(p).slice(0, 3)).toEqual(["v", "time", "type"]);
      expect(p.v).toBe(2);
      expect(p.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    }
    const strip = (p: Record<string, unknown>) => {
      const { v: _v, time: _t, ...rest } = p;
      return rest;
    };
    expect(parsed.map(strip)).toEqual([
      { ...start },
      { type: "molt:step:log", step: 3, stream: "stderr", lines: ['say "hi"\t\\ \u0001 €', "", "two"] },
      { type: "molt:step:log", step: 3, stream: "stdout", lines: ["long piece"], partial: true },
      { type: "molt:step:done", step: 3, durationMs: 12.5 },
    ]);
    expect(Object.keys(parsed[2]!)).toEqual(["v", "time", "type", "step", "stream", "lines", "partial"]);
    // The quoting, as JSON writes it (not only as it parses back).
    expect(lines[1]).toContain(String.raw`"lines":["say \"hi\"\t\\ \u0001 €","","two"]}`);
  });

  test("-v error shows no log lines, only errors and warnings", () => {
    const s = sink();
    const r = new JsonRenderer(s.out, { level: "error" });
    r.event(start);
    r.event(log(3, "hidden"));
    r.event({ type: "molt:step:error", step: 3, durationMs: 1, message: "boom" });
    r.end({});
    expect(
      s
        .text()
        .trim()
        .split("\n")
        .map((l) => (JSON.parse(l) as { type: string }).type),
    ).toEqual(["molt:step:error"]);
  });
});

describe("PlainRenderer", () => {
  test("log lines carry the step id and elapsed seconds; a blank line when the step changes", () => {
    const s = sink();
    const r: Renderer = new PlainRenderer(s.out, { level: "info" });
    r.event(start);
    r.event(log(3, ["one", "", "one-b"]));
    r.event({ ...start, step: 4, name: "[b 2/2] RUN x" });
    r.event(log(4, "b-one"));
    r.event(log(3, "two"));
    r.end({});
    const masked = s.text().replace(/ \d+\.\d{3} /g, " T ");
    expect(masked).toBe(
      [
        "#3 [2/2] RUN seq 3",
        "#3 T one",
        "#3 T ",
        "#3 T one-b",
        "",
        "#4 [b 2/2] RUN x",
        "#4 T b-one",
        "",
        "#3 T two",
        "",
      ].join("\n"),
    );
  });

  test("100,000 log lines are all written, in order, in a few batched writes", async () => {
    const s = sink();
    const r: Renderer = new PlainRenderer(s.out, { level: "info" });
    r.event(start);
    // In the chunks a 64 KiB pipe read gives (about 10,900 short lines each).
    for (let i = 1; i <= 100_000; i += 10_900)
      r.event(
        log(
          3,
          Array.from({ length: Math.min(10_900, 100_001 - i) }, (_, k) => String(i + k)),
        ),
      );
    await new Promise((res) => setImmediate(res));
    r.end({});
    const lines = s.text().split("\n");
    expect(lines).toHaveLength(100_002); // the step line, 100,000 log lines, and the final ""
    expect(lines[1]).toMatch(/^#3 \d+\.\d{3} 1$/);
    expect(lines[100_000]).toMatch(/^#3 \d+\.\d{3} 100000$/);
    expect(lines.slice(1, -1).every((l, k) => l.endsWith(` ${k + 1}`))).toBe(true);
    expect(s.writes()).toBeLessThan(100);
  });

  test("--log-timestamp prefixes every line, log lines included, with an ISO time", () => {
    const s = sink();
    const r: Renderer = new PlainRenderer(s.out, { level: "info", timestamps: true });
    r.event(start);
    r.event(log(3, ["one", "two"]));
    r.end({});
    expect(s.text()).toMatch(
      /^\S+Z #3 \[2\/2\] RUN seq 3\n\S+Z #3 \d+\.\d{3} one\n\S+Z #3 \d+\.\d{3} two\n$/,
    );
  });
});

describe("TtyRenderer", () => {
  test("the view shows the last lines across chunks; a failed step's whole log, every chunk, comes after the view", () => {
    const s = sink();
    const r = new TtyRenderer(s.out, { level: "info", columns: 80, redrawMs: 60_000 });
    r.event(start);
    const all = Array.from({ length: 25 }, (_, i) => `line ${i + 1}`);
    r.event(log(3, all.slice(0, 20)));
    r.event(log(3, all.slice(20, 22)));
    r.event(log(3, [""]));
    r.event(log(3, all.slice(22)));
    r.event({
      type: "molt:step:error",
      step: 3,
      durationMs: 5,
      message: "boom",
      exitCode: 2,
      argv: ["/bin/sh", "-c", "x"],
    });
    r.end({ error: new Error("boom") });
    const text = s.text();
    const report = text.slice(text.indexOf("------\n"));
    expect(report).toBe(
      [
        "------",
        " > [2/2] RUN seq 3:",
        ...all.slice(0, 22),
        "",
        ...all.slice(22),
        "------",
        'ERROR: [2/2] RUN seq 3: process "/bin/sh -c x" did not complete successfully: exit code 2',
        "",
      ].join("\n"),
    );
  });

  test("a frame shows the running step's last 6 lines, taken across chunks", () => {
    vi.useFakeTimers();
    try {
      const s = sink();
      const r = new TtyRenderer(s.out, { level: "info", columns: 80, redrawMs: 100 });
      r.event(start);
      r.event(log(3, ["a", "b", "c", "d"]));
      r.event(log(3, ["e", "f"]));
      r.event(log(3, ["g"]));
      vi.advanceTimersByTime(100);
      r.event(log(3, [""]));
      r.event(log(3, ["h", "", "i"]));
      vi.advanceTimersByTime(100);
      const frames = s.text().split("\x1b[J");
      const tails = frames.map((f) =>
        f
          .split("\n")
          .filter((l) => l.startsWith(" => => # "))
          .map((l) => l.slice(9)),
      );
      expect(tails.at(-2)).toEqual(["b", "c", "d", "e", "f", "g"]);
      expect(tails.at(-1)).toEqual(["f", "g", "", "h", "", "i"]);
      r.end({});
    } finally {
      vi.useRealTimers();
    }
  });
});
