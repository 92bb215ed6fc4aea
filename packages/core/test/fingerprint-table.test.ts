import { describe, expect, it } from "vitest";
import { FingerprintTable, unmarkedPaths } from "../src/cache/fingerprint-table.js";
import { metaFromJson, metaToJson } from "../src/cache/snapshot-store.js";

const hex = (c: string) => c.repeat(64);
const FA = `0${hex("a")}`;
const FB = `5${hex("b")}`;
const FC = `0${hex("c")}`;
const FD = `2${hex("d")}`;

const table = () =>
  FingerprintTable.of({ entries: { a: FA, "a/b": FB, ab: FC, "é/ü": FD }, shadowed: ["a"] })!;

describe("a snapshot's fingerprint table", () => {
  it("finds paths in its order in place, and any other through its index, resuming after it", () => {
    const t = table();
    expect(t.count).toBe(4);
    const find = t.lookup();
    expect(find("a")).toBe(0);
    expect(find("a/b")).toBe(1);
    // "a" again, while the next path is "ab": a prefix of the next one is not it
    expect(find("a")).toBe(0);
    expect(find("a/b")).toBe(1);
    expect(find("gone")).toBe(-1);
    expect(find("é/ü")).toBe(3);
    expect(find("ab")).toBe(2);
    expect(find("é/ü")).toBe(3);
    expect(find("")).toBe(-1);
    expect(find("é")).toBe(-1);
  });

  it("compares an entry's type and digest with its fingerprint in place", () => {
    const t = table();
    expect(t.isFingerprint(0, "0", hex("a"))).toBe(true);
    expect(t.isFingerprint(0, "5", hex("a"))).toBe(false);
    expect(t.isFingerprint(0, "0", hex("b"))).toBe(false);
    expect(t.isFingerprint(0, "0", hex("a").slice(1))).toBe(false);
    expect(t.isFingerprint(1, "5", hex("b"))).toBe(true);
    expect(t.fingerprintAt(3)).toBe(FD);
    expect([0, 1, 2, 3].map((i) => t.isDirectory(i))).toEqual([false, true, false, false]);
    expect([0, 1, 2, 3].map((i) => t.pathAt(i))).toEqual(["a", "a/b", "ab", "é/ü"]);
    expect(t.shadowed).toEqual(["a"]);
  });

  it("is stored as three strings and read back", () => {
    const stored = table().toStored();
    expect(stored).toEqual({
      count: 4,
      paths: "a\0a/b\0ab\0é/ü\0",
      types: "0502",
      digests: hex("a") + hex("b") + hex("c") + hex("d"),
      shadowed: ["a"],
    });
    const back = FingerprintTable.fromStored(JSON.parse(JSON.stringify(stored)));
    expect(back.lookup()("ab")).toBe(2);
    expect(back.fingerprintAt(2)).toBe(FC);
    const empty = FingerprintTable.of({ entries: {}, shadowed: [] })!;
    expect(empty.toStored()).toEqual({ count: 0, paths: "", types: "", digests: "", shadowed: [] });
    expect(FingerprintTable.fromStored(empty.toStored()).lookup()("a")).toBe(-1);
  });

  it("refuses fields that do not fit, and paths that are not `count` distinct ones once indexed", () => {
    const ok = { count: 2, paths: "a\0b\0", types: "00", digests: hex("a") + hex("c"), shadowed: [] };
    expect(() => FingerprintTable.fromStored({ ...ok, digests: hex("a") })).toThrow(/inconsistent/);
    expect(() => FingerprintTable.fromStored({ ...ok, types: "0" })).toThrow(/inconsistent/);
    expect(() => FingerprintTable.fromStored({ ...ok, paths: "a\0b" })).toThrow(/inconsistent/);
    expect(() => FingerprintTable.fromStored({ ...ok, count: 1.5 })).toThrow(/inconsistent/);
    expect(() => FingerprintTable.fromStored({ ...ok, shadowed: [1 as unknown as string] })).toThrow(
      /inconsistent/,
    );
    const twice = FingerprintTable.fromStored({ ...ok, paths: "a\0a\0" });
    expect(() => twice.lookup()("b")).toThrow(/inconsistent/);
    const three = FingerprintTable.fromStored({ ...ok, paths: "a\0b\0c\0" });
    expect(() => three.pathAt(0)).toThrow(/inconsistent/);
  });

  it("is not made of fingerprints of another width", () => {
    expect(FingerprintTable.of({ entries: { a: FA, b: hex("b") }, shadowed: [] })).toBeUndefined();
  });

  it("lists the paths a new layer no longer has, and none without a scan when all were seen", () => {
    const t = table();
    expect(unmarkedPaths(t, Uint8Array.from([1, 0, 1, 0]), 2)).toEqual(["a/b", "é/ü"]);
    expect(unmarkedPaths(t, Uint8Array.from([1, 1, 1, 1]), 4)).toEqual([]);
  });
});

describe("a snapshot's meta.json", () => {
  it("is written as version 2, ending with bytes and created, and read back", () => {
    const text = metaToJson({
      layers: ["sha256:1"],
      last: table(),
      bytes: 42,
      created: "2026-12-04T00:00:00.000Z",
    });
    expect(text.startsWith('{"version":2,"layers":["sha256:1"],"last":{"count":4,')).toBe(true);
    expect(text.endsWith(',"bytes":42,"created":"2026-12-04T00:00:00.000Z"}')).toBe(true);
    const back = metaFromJson(text);
    expect(back.layers).toEqual(["sha256:1"]);
    expect(back.bytes).toBe(42);
    expect(back.last?.lookup()("é/ü")).toBe(3);
    expect(metaFromJson(metaToJson({ layers: [], bytes: 1, created: "" })).last).toBeUndefined();
  });

  it("of an earlier build (version 1, an object of fingerprints) is still read", () => {
    const v1 = JSON.stringify({
      version: 1,
      layers: ["sha256:1", "sha256:2"],
      last: { entries: { x: FA, "x/y": FB }, shadowed: ["x"] },
      bytes: 7,
      created: "2026-01-01T00:00:00.000Z",
    });
    const m = metaFromJson(v1);
    expect(m.layers).toEqual(["sha256:1", "sha256:2"]);
    expect(m.last?.count).toBe(2);
    expect(m.last?.lookup()("x/y")).toBe(1);
    expect(m.last?.isFingerprint(1, "5", hex("b"))).toBe(true);
    expect(m.last?.shadowed).toEqual(["x"]);
    expect(() => metaFromJson('{"version":3,"layers":[]}')).toThrow(/unknown snapshot format/);
  });
});
