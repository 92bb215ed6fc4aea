import { describe, expect, it } from "vitest";
import { Baseline, type BaselineEntry, baselineFromBytes, baselineToBytes } from "../src/index.js";

const file = (over: Partial<BaselineEntry> = {}): BaselineEntry => ({
  type: "file",
  mode: 0o644,
  uid: 0,
  gid: 0,
  size: 3,
  mtimeNs: 1_700_000_000_000_000_007n,
  ctimeNs: 1_700_000_002_500_000_000n,
  ctimeMs: 1_700_000_002_500,
  ino: 9n,
  nlink: 1,
  ...over,
});
const dir = (over: Partial<BaselineEntry> = {}) => file({ type: "directory", mode: 0o755, size: 0, ...over });

/** A baseline's whole observable state: entries in order, stamps, children of every directory. */
const state = (b: Baseline) =>
  [...b.entries()].map(([p, e]) => ({ p, e, stamp: b.stamp(p), kids: b.childNames(p).sort() }));

/** The bytes of a baseline file holding `entries` in this order (paths that `set` alone could not record so). */
function fileOf(entries: [string, BaselineEntry][]): Buffer {
  const b = new Baseline();
  for (const [i, [, e]] of entries.entries()) b.set(`slot${i}`, e);
  const bytes = baselineToBytes(b);
  // Slot i renamed to entries[i]'s path in the JSON header, which is written again.
  const len = bytes.readUInt32LE(8);
  const header = JSON.parse(bytes.toString("utf8", 12, 12 + len));
  header.paths = entries.map(([p]) => p);
  const json = Buffer.from(JSON.stringify(header));
  const head = 12 + json.length;
  const pad = (8 - (head % 8)) % 8;
  let off = 12 + len;
  off += (8 - (off % 8)) % 8;
  const lenBuf = Buffer.alloc(4);
  lenBuf.writeUInt32LE(json.length);
  return Buffer.concat([bytes.subarray(0, 8), lenBuf, json, Buffer.alloc(pad), bytes.subarray(off)]);
}

describe("a stored root index read column by column", () => {
  it("is the baseline that recording its entries one by one gives: entries, stamps, children, and later changes", () => {
    const b = new Baseline();
    b.set("", dir());
    b.set("etc", dir());
    b.set("etc/passwd", file({ hash: 77n }));
    b.set("bin", dir());
    b.set("bin/sh", file({ size: 10 }));
    b.set("bin/ash", file({ type: "symlink", size: 0, linkTarget: "sh" }));
    b.set("dev", dir());
    b.set("dev/null", file({ type: "char", size: 0, rdev: 0x103, xattrs: { "user.k": Buffer.from("v") } }));
    const back = baselineFromBytes(baselineToBytes(b));
    // Stamps 1…8 in file order, as eight `set` calls on a new baseline leave them.
    expect(state(back).map((s) => s.stamp)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(state(back)).toEqual(state(b));
    expect(back.childNames("").sort()).toEqual(["bin", "dev", "etc"]);
    expect(back.get("bin/ash")?.linkTarget).toBe("sh");
    expect(back.get("dev/null")?.xattrs).toEqual({ "user.k": Buffer.from("v") });
    expect(back.get("etc/passwd")?.ctimeMs).toBe(1_700_000_002_500);
    // It works as any baseline afterwards: new paths get new slots and stamps, subtrees go whole.
    back.set("etc/hosts", file());
    expect(back.stamp("etc/hosts")).toBe(9);
    expect(back.childNames("etc").sort()).toEqual(["hosts", "passwd"]);
    back.delete("bin");
    expect(back.has("bin/sh")).toBe(false);
    expect(back.has("bin/ash")).toBe(false);
    expect(back.size).toBe(6);
    back.set("bin", file());
    expect(back.typeOf("bin")).toBe("file");
    expect(back.linkTargetOf("bin")).toBeUndefined();
  });

  it("files each path under its own parent however the paths are ordered (names that share a prefix)", () => {
    const b = new Baseline();
    for (const p of ["", "a", "ab", "a/x", "ab/y", "a/z", "a/b", "a/b/c", "a/bc", "ab/c", "/s", "t"])
      b.set(p, p.includes(".") ? file() : dir());
    const back = baselineFromBytes(baselineToBytes(b));
    expect(back.childNames("").sort()).toEqual(["/s", "a", "ab", "t"]);
    expect(back.childNames("a").sort()).toEqual(["b", "bc", "x", "z"]);
    expect(back.childNames("ab").sort()).toEqual(["c", "y"]);
    expect(back.childNames("a/b")).toEqual(["c"]);
    expect(back.childNames("a/bc")).toEqual([]);
    expect(state(back)).toEqual(state(b));
  });

  it("grows past its first capacity like any baseline (more than 64 slots)", () => {
    const b = new Baseline();
    b.set("", dir());
    for (let i = 0; i < 200; i++) b.set(`f${i}`, file({ ino: BigInt(i) }));
    const back = baselineFromBytes(baselineToBytes(b));
    for (let i = 200; i < 300; i++) back.set(`f${i}`, file({ ino: BigInt(i) }));
    expect(back.size).toBe(301);
    expect(back.get("f150")?.ino).toBe(150n);
    expect(back.get("f250")?.ino).toBe(250n);
    expect(back.stamp("f299")).toBe(301);
  });

  it("refuses files that recording one by one would not keep whole (the store then scans the root)", () => {
    // The same path twice.
    expect(() =>
      baselineFromBytes(
        fileOf([
          ["", dir()],
          ["a", file()],
          ["a", file()],
        ]),
      ),
    ).toThrow(/inconsistent/);
    // A file recorded after a child of its own path (`set` would drop that child).
    expect(() =>
      baselineFromBytes(
        fileOf([
          ["", dir()],
          ["a/b", file()],
          ["a", file()],
        ]),
      ),
    ).toThrow(/inconsistent/);
    // …while a directory recorded after its child, or a child after a file, keeps everything.
    const ok = baselineFromBytes(
      fileOf([
        ["", dir()],
        ["a/b", file()],
        ["a", dir()],
        ["f", file()],
        ["f/x", file()],
      ]),
    );
    expect(ok.size).toBe(5);
    expect(ok.childNames("a")).toEqual(["b"]);
    expect(ok.childNames("f")).toEqual(["x"]);
    // No root entry.
    expect(() => baselineFromBytes(fileOf([["a", dir()]]))).toThrow(/inconsistent/);
  });

  it("refuses an unknown type code", () => {
    const b = new Baseline();
    b.set("", dir());
    b.set("f", file());
    const bytes = baselineToBytes(b);
    // The type column is the second to last (n bytes), before the flags column (n bytes).
    bytes[bytes.length - 2 * 2 + 1] = 7;
    expect(() => baselineFromBytes(bytes)).toThrow(/inconsistent/);
  });
});
