import type { FileEntry } from "@molt/oci";
import { describe, expect, it } from "vitest";
import { headerOf, type TimeRule } from "../src/entry-header.js";
import { EntryTable } from "../src/entry-table.js";

const file = (path: string, source: string): FileEntry => ({
  path,
  type: "file",
  mode: 0o644,
  uid: 1,
  gid: 2,
  size: 3,
  mtimeNs: 4n,
  source,
});

describe("EntryTable sources", () => {
  it("gives back each entry with its source, kept as a prefix index or (keepSources) as given", () => {
    for (const keep of [false, true]) {
      const t = new EntryTable(keep);
      const given = ["/ctx/files/a.txt", "/elsewhere/b", "/ctx/files/sub/c"].map((s) => `${s}`);
      const slots = [
        t.add("files/a.txt", file("files/a.txt", given[0]!)),
        t.add("b.txt", file("b.txt", given[1]!)),
        t.add("files/sub/c", file("files/sub/c", given[2]!)),
      ];
      const back = slots.map((s) => t.entry(s));
      expect(back.map((e) => e.source)).toEqual(["/ctx/files/a.txt", "/elsewhere/b", "/ctx/files/sub/c"]);
      expect(back[0]).toEqual({ ...file("files/a.txt", "/ctx/files/a.txt") });
    }
  });
});

describe("headerOf times", () => {
  it("truncates each time to its whole second, also in runs of the same second and going back", () => {
    const S = 1_000_000_000n;
    const rule: TimeRule = { clampNs: undefined, wholeSeconds: true };
    const clamped: TimeRule = { clampNs: 10n * S + 5n, wholeSeconds: true };
    const at = (ns: bigint, time = rule) => headerOf({ ...file("a", "/a"), mtimeNs: ns }, "a", time).mtimeNs;
    // [input, expected] written by hand: floor towards the past
    const cases: [bigint, bigint][] = [
      [5n * S + 900_000_000n, 5n * S],
      [5n * S + 100_000_000n, 5n * S],
      [5n * S, 5n * S],
      [6n * S - 1n, 5n * S],
      [6n * S, 6n * S],
      [5n * S + 1n, 5n * S],
      [-1n, -S],
      [-S, -S],
      [-S - 1n, -2n * S],
      [0n, 0n],
    ];
    for (const [ns, want] of cases) expect(at(ns), `${ns}`).toBe(want);
    // clamped to SOURCE_DATE_EPOCH first, then truncated
    expect(at(99n * S, clamped)).toBe(10n * S);
    expect(at(10n * S + 3n, clamped)).toBe(10n * S);
    expect(at(9n * S + 7n, clamped)).toBe(9n * S);
    // nanosecond precision keeps the time as it is
    expect(at(5n * S + 7n, { clampNs: undefined, wholeSeconds: false })).toBe(5n * S + 7n);
  });
});
