import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { encodeTarHeader } from "../src/index.js";

/** A header field as ASCII, up to its first NUL. */
const field = (b: Buffer, off: number, len: number) => {
  const s = b.subarray(off, off + len);
  const nul = s.indexOf(0);
  return s.subarray(0, nul < 0 ? len : nul).toString("latin1");
};

describe("encodeTarHeader (POSIX ustar fields, written out from the spec)", () => {
  it("fills every numeric field with zero-padded octal digits and a NUL, and a valid checksum", () => {
    const b = encodeTarHeader({
      name: "files/d0/f0.txt",
      type: "file",
      mode: 0o100644,
      uid: 1000,
      gid: 0o7777777, // the largest 7-digit octal id
      size: 12,
      mtimeNs: 1_700_000_000n * 1_000_000_000n,
      uname: "app",
    });
    expect(b.length).toBe(512);
    expect(field(b, 0, 100)).toBe("files/d0/f0.txt");
    // mode keeps the permission bits only: 644 in 7 digits and a NUL
    expect(b.subarray(100, 108).toString("latin1")).toBe("0000644\0");
    expect(b.subarray(108, 116).toString("latin1")).toBe("0001750\0"); // 1000 = 0o1750
    expect(b.subarray(116, 124).toString("latin1")).toBe("7777777\0");
    expect(b.subarray(124, 136).toString("latin1")).toBe("00000000014\0"); // 12 = 0o14
    expect(b.subarray(136, 148).toString("latin1")).toBe("14524770400\0"); // 1700000000 = 0o14524770400
    expect(String.fromCharCode(b[156]!)).toBe("0");
    expect(field(b, 157, 100)).toBe("");
    expect(b.subarray(257, 265).toString("latin1")).toBe("ustar\u000000");
    expect(field(b, 265, 32)).toBe("app");
    expect(field(b, 297, 32)).toBe("");
    expect(b.subarray(329, 337).toString("latin1")).toBe("0000000\0");
    expect(b.subarray(337, 345).toString("latin1")).toBe("0000000\0");
    // checksum: the sum of all 512 bytes with its own 8 bytes taken as spaces, as 6 octal digits, NUL, space
    let sum = 0;
    for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 0x20 : b[i]!;
    expect(b.subarray(148, 156).toString("latin1")).toBe(`${sum.toString(8).padStart(6, "0")}\0 `);
  });

  it("splits a long ASCII name into prefix and name at a slash, and gives a symlink its target", () => {
    const dir = `${"a".repeat(60)}/${"b".repeat(60)}`;
    const b = encodeTarHeader({
      name: `${dir}/c.txt`,
      type: "symlink",
      mode: 0o777,
      uid: 0,
      gid: 0,
      size: 0,
      mtimeNs: 0n,
      linkname: "../target",
    });
    expect(b.length).toBe(512);
    // any split at a slash is ustar; this one takes the first that leaves the name <= 100 bytes
    expect(field(b, 345, 155)).toBe("a".repeat(60));
    expect(field(b, 0, 100)).toBe(`${"b".repeat(60)}/c.txt`);
    expect(String.fromCharCode(b[156]!)).toBe("2");
    expect(field(b, 157, 100)).toBe("../target");
    expect(b.subarray(124, 136).toString("latin1")).toBe("00000000000\0");
    expect(b.subarray(136, 148).toString("latin1")).toBe("00000000000\0");
  });

  it("is read back by GNU tar with the same fields", () => {
    const head = encodeTarHeader({
      name: "etc/hosts",
      type: "file",
      mode: 0o640,
      uid: 7,
      gid: 9,
      size: 3,
      mtimeNs: 86_400n * 1_000_000_000n,
    });
    const tar = Buffer.concat([head, Buffer.from("hi\n"), Buffer.alloc(509), Buffer.alloc(1024)]);
    const r = spawnSync("tar", ["--numeric-owner", "--utc", "-tvf", "-"], { input: tar, encoding: "utf8" });
    expect(r.status).toBe(0);
    expect(r.stdout.trim().split(/\s+/)).toEqual([
      "-rw-r-----",
      "7/9",
      "3",
      "1970-01-02",
      "00:00",
      "etc/hosts",
    ]);
  });
});
