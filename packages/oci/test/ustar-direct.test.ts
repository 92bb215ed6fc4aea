import { describe, expect, it } from "vitest";
import { encodeTarHeader, type TarHeader, writeUstarHeader } from "../src/index.js";

const S = 1_000_000_000n;
const base: TarHeader = { name: "f", type: "file", mode: 0o644, uid: 0, gid: 0, size: 0, mtimeNs: 0n };

/** Writes `h` into a buffer of garbage at offset 700 (not a multiple of 512); the block, or undefined. */
function direct(h: TarHeader): Buffer | undefined {
  const buf = Buffer.alloc(2048, 0xa5);
  const written = writeUstarHeader(h, buf, 700);
  // nothing written outside its 512 bytes, whether it wrote the header or declined
  expect(buf.subarray(0, 700).equals(Buffer.alloc(700, 0xa5))).toBe(true);
  expect(buf.subarray(1212).equals(Buffer.alloc(2048 - 1212, 0xa5))).toBe(true);
  return written ? buf.subarray(700, 1212) : undefined;
}

describe("writeUstarHeader (a plain ustar header written in place)", () => {
  it("writes the spec's bytes for a file header, checksum included", () => {
    const b = direct({
      ...base,
      name: "files/d0/f0.txt",
      mode: 0o100644,
      uid: 1000,
      gid: 7,
      size: 12,
      mtimeNs: 8n * S,
    })!;
    const expected = Buffer.alloc(512);
    expected.write("files/d0/f0.txt", 0, "latin1");
    expected.write("0000644\0", 100, "latin1");
    expected.write("0001750\0", 108, "latin1"); // 1000 = 0o1750
    expected.write("0000007\0", 116, "latin1");
    expected.write("00000000014\0", 124, "latin1"); // 12 = 0o14
    expected.write("00000000010\0", 136, "latin1"); // 8 s = 0o10
    expected.write("0", 156, "latin1");
    expected.write("ustar\u000000", 257, "latin1");
    expected.write("0000000\u00000000000\0", 329, "latin1"); // devmajor, devminor
    // checksum by hand: the sum of every byte, the checksum field counted as 8 spaces
    let sum = 8 * 0x20;
    for (let i = 0; i < 512; i++) sum += expected[i]!;
    expected.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148, "latin1");
    expect(b.toString("latin1")).toBe(expected.toString("latin1"));
  });

  it("gives exactly encodeTarHeader's bytes for every kind of plain header", () => {
    const cases: TarHeader[] = [
      base,
      { ...base, name: "etc", type: "directory", mode: 0o755 },
      { ...base, name: "etc/", type: "directory", mode: 0o1777 },
      { ...base, name: "bin/sh", type: "symlink", mode: 0o777, linkname: "busybox" },
      { ...base, name: "bin/ls", type: "hardlink", linkname: "bin/busybox", size: 99 },
      { ...base, name: "dev/null", type: "char", devMajor: 1, devMinor: 3 },
      { ...base, name: "dev/sda", type: "block", devMajor: 8, devMinor: 0o7777777 },
      { ...base, name: "run/p", type: "fifo" },
      {
        ...base,
        name: "x".repeat(100),
        uid: 0o7777777,
        gid: 65534,
        size: 0o77777777777,
        mtimeNs: 0o77777777777n * S,
      },
      { ...base, name: "a/.wh..wh..opq", mode: 0, mtimeNs: 1_700_000_000n * S, size: 1 << 20 },
      { ...base, name: "tab\there", xattrs: undefined, uname: "", gname: "" },
      { ...base, name: "l", type: "symlink", linkname: "t".repeat(100) },
      // the same time again, then others (the last conversion is remembered)
      { ...base, name: "x".repeat(100), mtimeNs: 0o77777777777n * S },
      { ...base, name: "t1", mtimeNs: 1n * S },
      { ...base, name: "t0", mtimeNs: 0n },
    ];
    for (const h of cases) {
      const b = direct(h);
      expect(b, h.name).toBeDefined();
      expect(b!.equals(encodeTarHeader(h)), h.name).toBe(true);
    }
  });

  it("declines what needs a PAX header, a prefix split or names, leaving those to encodeTarHeader", () => {
    const declined: TarHeader[] = [
      { ...base, name: "x".repeat(101) }, // longer than the name field (a prefix split)
      { ...base, name: `${"d".repeat(100)}`, type: "directory" }, // 101 with its slash
      { ...base, name: "é" }, // non-ASCII
      { ...base, name: "l", type: "symlink", linkname: "t".repeat(101) },
      { ...base, name: "l", type: "symlink", linkname: "ü" },
      { ...base, size: 0o77777777777 + 1 },
      { ...base, uid: 0o7777777 + 1 },
      { ...base, gid: -1 },
      { ...base, mtimeNs: S + 1n },
      { ...base, mtimeNs: S + 1n }, // (again: a remembered fraction still declines)
      { ...base, mtimeNs: -S },
      { ...base, mtimeNs: (0o77777777777n + 1n) * S },
      { ...base, name: "dev/x", type: "char", devMajor: 0o7777777 + 1 },
      { ...base, xattrs: {} },
      { ...base, uname: "root" },
      { ...base, gname: "root" },
    ];
    for (const h of declined)
      expect(
        direct(h),
        JSON.stringify(h, (_k, v) => (typeof v === "bigint" ? `${v}` : v)),
      ).toBeUndefined();
  });

  it("with `zeroed`, writes the same bytes into a zeroed block without clearing it first", () => {
    const h: TarHeader = { ...base, name: "files/d1/f7.txt", size: 9, mtimeNs: 1_700_000_000n * S };
    const zero = Buffer.alloc(1536);
    expect(writeUstarHeader(h, zero, 512, true)).toBe(true);
    expect(zero.subarray(512, 1024).equals(encodeTarHeader(h))).toBe(true);
    expect(zero.subarray(0, 512).equals(Buffer.alloc(512))).toBe(true);
    expect(zero.subarray(1024).equals(Buffer.alloc(512))).toBe(true);
    // it does skip the fill: a byte of garbage in a field's unused tail stays (bytes 16.. of the name)
    const dirty = Buffer.alloc(512);
    dirty[40] = 0xa5;
    writeUstarHeader(h, dirty, 0, true);
    expect(dirty[40]).toBe(0xa5);
  });
});
