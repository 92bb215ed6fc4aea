import { describe, expect, it } from "vitest";
import { Baseline, type BaselineEntry } from "../src/index.js";

const entry = (over: Partial<BaselineEntry> = {}): BaselineEntry => ({
  type: "file",
  mode: 0o644,
  uid: 1000,
  gid: 1000,
  size: 12,
  mtimeNs: 1_700_000_000_123_456_789n,
  ctimeNs: 1_700_000_001_000_000_001n,
  ctimeMs: 1_700_000_001_000.25,
  ino: 2n ** 63n + 5n,
  nlink: 1,
  ...over,
});
const dir = (over: Partial<BaselineEntry> = {}) =>
  entry({ type: "directory", mode: 0o755, size: 0, ...over });

describe("Baseline (columns)", () => {
  it("gives back every field as it was set, big inode numbers and hashes included", () => {
    const b = new Baseline();
    b.set("", dir());
    const e = entry({ hash: 2n ** 64n - 1n, xattrs: { "user.a": Buffer.from("x") } });
    b.set("f", e);
    b.set("l", entry({ type: "symlink", linkTarget: "../f", size: 0 }));
    b.set("c", entry({ type: "char", rdev: 0x10203, size: 0 }));
    expect(b.get("f")).toEqual(e);
    expect(b.get("l")?.linkTarget).toBe("../f");
    expect(b.get("l")?.hash).toBeUndefined();
    expect(b.get("c")?.rdev).toBe(0x10203);
    expect(b.get("f")?.rdev).toBeUndefined();
    expect(b.typeOf("l")).toBe("symlink");
    expect(b.modeOf("")).toBe(0o755);
    expect(b.hasXattrs("f")).toBe(true);
    expect(b.hasXattrs("l")).toBe(false);
    expect(b.size).toBe(4);
  });

  it("a path written again drops what the new entry lacks and changes its stamp", () => {
    const b = new Baseline();
    b.set("f", entry({ hash: 7n, xattrs: { "user.a": Buffer.from("x") } }));
    const s = b.stamp("f");
    b.set("f", entry({ size: 3 }));
    expect(b.get("f")).toEqual(entry({ size: 3 }));
    expect(b.stamp("f")).not.toBe(s);
    expect(b.stamp("gone")).toBeUndefined();
  });

  it("lists children by name, drops a subtree on delete or when a directory becomes a file, and reuses slots", () => {
    const b = new Baseline();
    b.set("", dir());
    b.set("a", dir());
    b.set("a/b", dir());
    b.set("a/b/c", entry());
    b.set("a/d", entry({ size: 1 }));
    expect(b.childNames("a").sort()).toEqual(["b", "d"]);
    expect([...b.children("a").entries()].map(([n, e]) => [n, e.type]).sort()).toEqual([
      ["b", "directory"],
      ["d", "file"],
    ]);
    b.set("a/b", entry({ size: 9 }));
    expect(b.has("a/b/c")).toBe(false);
    expect(b.childNames("a/b")).toEqual([]);
    b.delete("a");
    expect([...b.entries()].map(([p]) => p)).toEqual([""]);
    expect(b.childNames("")).toEqual([]);
    for (let i = 0; i < 200; i++) b.set(`n${i}`, entry({ size: i }));
    expect(b.size).toBe(201);
    expect(b.get("n199")?.size).toBe(199);
    expect(b.get("n0")?.size).toBe(0);
  });

  it("a clone is independent", () => {
    const b = new Baseline();
    b.set("", dir());
    b.set("x", entry());
    const c = b.clone();
    c.set("x", entry({ size: 99 }));
    c.set("y", entry());
    b.delete("x");
    expect(b.has("x")).toBe(false);
    expect(c.get("x")?.size).toBe(99);
    expect(c.childNames("").sort()).toEqual(["x", "y"]);
    expect(b.childNames("")).toEqual([]);
  });
});
