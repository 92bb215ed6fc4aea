import { describe, expect, test } from "vitest";
import { LineSplitter, MAX_OUTPUT_CHUNK } from "../src/runner/output-lines.js";

/** Feeds `chunks` through a splitter and returns what its listener got. */
function split(chunks: (string | Buffer)[]): [string, boolean][] {
  const got: [string, boolean][] = [];
  const s = new LineSplitter("stdout", (_stream, line, partial) => got.push([line, partial === true]));
  for (const c of chunks) s.write(typeof c === "string" ? Buffer.from(c) : c);
  s.end();
  return got;
}

describe("LineSplitter", () => {
  test("lines split within and across chunks, without their newline; a last line without one comes at the end", () => {
    expect(split(["one\ntwo\nthr", "ee\n\nfour"])).toEqual([
      ["one", false],
      ["two", false],
      ["three", false],
      ["", false],
      ["four", false],
    ]);
  });

  test("a \\r before the newline is kept; a UTF-8 character cut between chunks is whole", () => {
    const euro = Buffer.from("€\n"); // e2 82 ac 0a
    expect(split(["dos\r\n", euro.subarray(0, 1), euro.subarray(1)])).toEqual([
      ["dos\r", false],
      ["€", false],
    ]);
  });

  test("100,000 short lines arrive one by one, in order", () => {
    const text = `${Array.from({ length: 100_000 }, (_, i) => String(i + 1)).join("\n")}\n`;
    const buf = Buffer.from(text);
    const chunks: Buffer[] = [];
    for (let i = 0; i < buf.length; i += 65536) chunks.push(buf.subarray(i, i + 65536));
    const got = split(chunks);
    expect(got).toHaveLength(100_000);
    expect(got[0]).toEqual(["1", false]);
    expect(got[54321]).toEqual(["54322", false]);
    expect(got.at(-1)).toEqual(["100000", false]);
  });

  test("a line longer than the chunk limit comes in pieces, all but the last partial", () => {
    const long = "x".repeat(MAX_OUTPUT_CHUNK * 2 + 5);
    const got = split([`${long.slice(0, 1000)}`, `${long.slice(1000)}\nnext\n`]);
    expect(got.map(([l, p]) => [l.length, p])).toEqual([
      [MAX_OUTPUT_CHUNK, true],
      [MAX_OUTPUT_CHUNK, true],
      [5, false],
      [4, false],
    ]);
    expect(got[3]![0]).toBe("next");
  });
});
