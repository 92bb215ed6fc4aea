import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { Baseline, type BaselineEntry, baselineFromBytes, baselineToBytes, scanTree } from "../src/index.js";

const entry = (over: Partial<BaselineEntry> = {}): BaselineEntry => ({
  type: "file",
  mode: 0o644,
  uid: 1000,
  gid: 1000,
  size: 12,
  mtimeNs: 1_700_000_000_123_456_789n,
  ctimeNs: 1_700_000_001_250_000_000n,
  ctimeMs: 1_700_000_001_250,
  ino: 2n ** 63n + 5n,
  nlink: 1,
  ...over,
});

const all = (b: Baseline) => new Map([...b.entries()]);

describe("baseline file (what the snapshot store keeps beside a root)", () => {
  it("gives back every path and field: huge inodes and hashes, rdev, link targets, xattrs, the xattrsKnown flag", () => {
    const b = new Baseline();
    b.set("", entry({ type: "directory", mode: 0o755, size: 0, nlink: 3 }));
    b.set("d", entry({ type: "directory", mode: 0o1777, size: 0, uid: 0, gid: 0, nlink: 2 }));
    b.set("d/f", entry({ hash: 2n ** 64n - 1n, size: 2 ** 40 + 3, nlink: 2 }));
    b.set(
      "d/é ü",
      entry({ xattrs: { "user.a": Buffer.from([0, 255, 10]), "security.capability": Buffer.alloc(20, 7) } }),
    );
    b.set("l", entry({ type: "symlink", size: 0, mode: 0o777, linkTarget: "../d/é ü" }));
    b.set("c", entry({ type: "char", size: 0, rdev: 0x10203, mtimeNs: -5n, ctimeNs: 0n, ctimeMs: 0 }));
    b.set("p", entry({ type: "fifo", size: 0, mode: 0o4755, uid: 2 ** 32 - 2 }));
    b.xattrsKnown = false;
    const back = baselineFromBytes(baselineToBytes(b));
    expect(all(back)).toEqual(all(b));
    expect(back.xattrsKnown).toBe(false);
    expect(back.childNames("d").sort()).toEqual(["d/f", "d/é ü"].map((p) => p.slice(2)).sort());
    expect(back.childNames("").sort()).toEqual(["c", "d", "l", "p"]);
    expect(back.hasXattrs("d/é ü")).toBe(true);
    expect(back.linkTargetOf("l")).toBe("../d/é ü");
    expect(back.get("d/f")?.hash).toBe(2n ** 64n - 1n);
    expect(back.get("c")?.rdev).toBe(0x10203);
    expect(back.get("c")?.ctimeMs).toBe(0);
    // The ctimeMs recorded is what the file gives back (stored since MOLTBLN2, not derived).
    expect(back.get("d/f")?.ctimeMs).toBe(1_700_000_001_250);
  });

  it("still reads a file of earlier builds (MOLTBLN1: no ctimeMs column, derived from ctimeNs)", () => {
    const b = new Baseline();
    b.set("", entry({ type: "directory", size: 0 }));
    b.set("f", entry({ ctimeNs: 1_600_000_000_500_000_000n, ctimeMs: 1 }));
    const v2 = baselineToBytes(b);
    // A MOLTBLN1 file: the same bytes without the ctimeMs column (n = 2 doubles after size's).
    const len = v2.readUInt32LE(8);
    let off = 12 + len;
    off += (8 - (off % 8)) % 8;
    const n = 2;
    const v1 = Buffer.concat([
      Buffer.from("MOLTBLN1", "latin1"),
      v2.subarray(8, off + n * 8),
      v2.subarray(off + 2 * n * 8),
    ]);
    const back = baselineFromBytes(v1);
    expect(back.get("f")?.ctimeMs).toBe(1_600_000_000_500);
    expect(back.get("f")?.ctimeNs).toBe(1_600_000_000_500_000_000n);
    expect(back.get("f")?.size).toBe(12);
    expect(back.get("f")?.ino).toBe(2n ** 63n + 5n);
    expect(back.childNames("")).toEqual(["f"]);
  });

  it("equals a scan of the same real tree", async () => {
    const root = await mkdtemp(join(tmpdir(), "molt-baseline-file-"));
    try {
      await mkdir(join(root, "a/b"), { recursive: true });
      await writeFile(join(root, "a/b/f"), "hello\n");
      await writeFile(join(root, "g"), "");
      await symlink("a/b/f", join(root, "s"));
      const scanned = await scanTree(root);
      const back = baselineFromBytes(baselineToBytes(scanned));
      expect(all(back)).toEqual(all(scanned));
      expect(back.xattrsKnown).toBe(scanned.xattrsKnown);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  it("refuses bytes that are not a whole baseline file (the store then scans the root)", () => {
    const b = new Baseline();
    b.set("", entry({ type: "directory", size: 0 }));
    b.set("f", entry());
    const bytes = baselineToBytes(b);
    expect(() => baselineFromBytes(bytes.subarray(0, bytes.length - 1))).toThrow(/truncated/);
    expect(() => baselineFromBytes(Buffer.concat([bytes, Buffer.alloc(8)]))).toThrow(/truncated/);
    expect(() => baselineFromBytes(Buffer.from("{}"))).toThrow(/not a molt baseline/);
    const bad = Buffer.from(bytes);
    bad.write("X", 0);
    expect(() => baselineFromBytes(bad)).toThrow(/not a molt baseline/);
  });
});
