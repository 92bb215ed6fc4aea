import type { BuildProgressEvent } from "@molt/core";
import { describe, expect, test } from "vitest";
import { PlainRenderer, TtyRenderer } from "../src/progress/index.js";

// A line longer than one event (64 Ki characters) comes in pieces, each but the last ending its
// `molt:step:log` with `partial` (see LogBatcher). The display shows it as the one line it is.

function sink() {
  const chunks: string[] = [];
  return { out: { write: (s: string) => chunks.push(s) }, text: () => chunks.join("") };
}

const start = (step: number, name: string): BuildProgressEvent => ({
  type: "molt:step:start",
  step,
  kind: "instruction",
  name,
});
const log = (
  step: number,
  lines: string[],
  stream: "stdout" | "stderr",
  partial = false,
): BuildProgressEvent =>
  partial
    ? { type: "molt:step:log", step, stream, lines, partial }
    : { type: "molt:step:log", step, stream, lines };

const A = "a".repeat(65_536);
const B = "b".repeat(65_536);

describe("a long line in pieces", () => {
  test("plain prints it once, whole, behind one prefix; other steps' lines in between stay apart", () => {
    const s = sink();
    const r = new PlainRenderer(s.out, { level: "info" });
    r.event(start(3, "[a 2/2] RUN long"));
    r.event(start(4, "[b 2/2] RUN short"));
    r.event(log(3, ["before", A], "stdout", true));
    r.event(log(4, ["other step"], "stdout"));
    r.event(log(3, [B], "stdout", true));
    r.event(log(3, ["end", "after"], "stdout"));
    // A piece never continued (the step ended) is printed when the step ends.
    r.event(log(4, ["tail"], "stderr", true));
    r.event({ type: "molt:step:done", step: 4, durationMs: 1 });
    r.end();
    const lines = s
      .text()
      .split("\n")
      .map((l) => l.replace(/^(#\d+) \d+\.\d{3} /, "$1 T "));
    expect(lines.filter((l) => l !== "")).toEqual([
      "#3 [a 2/2] RUN long",
      "#4 [b 2/2] RUN short",
      "#3 T before",
      "#4 T other step",
      `#3 T ${A}${B}end`,
      "#3 T after",
      "#4 T tail",
      "#4 DONE 0.0s",
    ]);
  });

  test("the tty view's report of a failed step has the line whole", () => {
    const s = sink();
    const r = new TtyRenderer(s.out, { level: "info", columns: 80, redrawMs: 60_000 });
    r.event(start(3, "[2/2] RUN long"));
    r.event(log(3, ["before", A], "stdout", true));
    r.event(log(3, [B], "stdout", true));
    r.event(log(3, ["end", "after"], "stdout"));
    r.event({ type: "molt:step:error", step: 3, durationMs: 5, message: "boom" });
    r.end({ error: new Error("boom") });
    const report = s.text().slice(s.text().indexOf("------\n"));
    expect(report.split("\n").slice(0, 5)).toEqual([
      "------",
      " > [2/2] RUN long:",
      "before",
      `${A}${B}end`,
      "after",
    ]);
  });
});
