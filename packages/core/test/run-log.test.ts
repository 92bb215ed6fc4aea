import { describe, expect, test } from "vitest";
import type { BuildProgressEvent } from "../src/events.js";
import { LogBatcher } from "../src/instructions/run-log.js";
import { LineSplitter, MAX_OUTPUT_CHUNK } from "../src/runner/output-lines.js";

type Log = Extract<BuildProgressEvent, { type: "molt:step:log" }>;

/** A splitter feeding a batcher, as a RUN wires them; `got` is what the build receives. */
function wired() {
  const got: Log[] = [];
  const b = new LogBatcher(7, (e) => got.push(e));
  const out = new LineSplitter("stdout", (s, l, p) => b.add(s, l, p));
  const err = new LineSplitter("stderr", (s, l, p) => b.add(s, l, p));
  return { got, b, out, err };
}
const tick = () => new Promise<void>((res) => setImmediate(res));

describe("LogBatcher", () => {
  test("the lines of one output chunk are one event, sent after the chunk; the next chunk is the next event", async () => {
    const w = wired();
    w.out.write(Buffer.from("1\n2\n\n3\n4"));
    expect(w.got).toEqual([]); // not per line: after the burst
    await tick();
    w.out.write(Buffer.from("5\n6\n"));
    await tick();
    expect(w.got).toEqual([
      { type: "molt:step:log", step: 7, stream: "stdout", lines: ["1", "2", "", "3"] },
      { type: "molt:step:log", step: 7, stream: "stdout", lines: ["45", "6"] },
    ]);
  });

  test("a change of stream ends the batch, so stdout and stderr keep their order", async () => {
    const w = wired();
    w.out.write(Buffer.from("a\nb\n"));
    w.err.write(Buffer.from("E\n"));
    w.out.write(Buffer.from("c\n"));
    w.out.end();
    w.err.end();
    w.b.flush();
    expect(w.got.map((e) => [e.stream, e.lines])).toEqual([
      ["stdout", ["a", "b"]],
      ["stderr", ["E"]],
      ["stdout", ["c"]],
    ]);
    await tick();
    expect(w.got).toHaveLength(3); // the scheduled flush finds nothing more
  });

  test("a line longer than one event comes in pieces, each ending its event with partial; joined it is whole", async () => {
    const w = wired();
    const long = "x".repeat(MAX_OUTPUT_CHUNK * 2 + 5);
    w.out.write(Buffer.from(`before\n${long}\nafter\n`));
    await tick();
    expect(
      w.got.map((e) => [e.lines.map((l) => (l.startsWith("x") ? l.length : l)), e.partial === true]),
    ).toEqual([
      [["before", MAX_OUTPUT_CHUNK], true],
      [[MAX_OUTPUT_CHUNK], true],
      [[5, "after"], false],
    ]);
    const all = w.got.flatMap((e) => e.lines);
    expect(all.slice(1, 4).join("")).toBe(long);
  });

  test("100,000 lines arrive complete and in order in as many events as chunks", async () => {
    const w = wired();
    const text = Array.from({ length: 100_000 }, (_, i) => `${i + 1}\n`).join("");
    const buf = Buffer.from(text);
    for (let at = 0; at < buf.length; at += 65536) {
      w.out.write(buf.subarray(at, at + 65536));
      await tick();
    }
    w.out.end();
    w.b.flush();
    const lines = w.got.flatMap((e) => e.lines);
    expect(lines).toHaveLength(100_000);
    expect(lines.every((l, i) => l === String(i + 1))).toBe(true);
    expect(w.got.length).toBe(Math.ceil(buf.length / 65536));
  });
});
