import { cleanRootPath } from "@molt/oci";
import { describe, expect, it } from "vitest";
import { ByteReader } from "../src/byte-reader.js";
import { cleanPath } from "../src/paths.js";
import { TarReader } from "../src/tar-reader.js";

/** One ustar header block with the given raw field bytes (checksum computed). */
function header(fields: {
  name: string;
  mode: string;
  uid: string | Buffer;
  size: string;
  mtime: string;
}): Buffer {
  const h = Buffer.alloc(512);
  h.write(fields.name, 0, 100, "utf8");
  h.write(fields.mode, 100, 8, "latin1");
  if (typeof fields.uid === "string") h.write(fields.uid, 108, 8, "latin1");
  else fields.uid.copy(h, 108);
  h.write("0000000\0", 116, 8, "latin1");
  h.write(fields.size, 124, 12, "latin1");
  h.write(fields.mtime, 136, 12, "latin1");
  h.write("        ", 148, 8, "latin1");
  h.write("0", 156, 1, "latin1");
  h.write("ustar\u000000", 257, 8, "latin1");
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148, 8, "latin1");
  return h;
}

async function* once(b: Buffer) {
  yield b;
}

describe("extraction's fast paths agree with the general ones", () => {
  it("cleanPath returns what the one cleaner returns, for clean and unclean names", () => {
    const names = [
      "usr/bin/x",
      "./usr/bin/x",
      "./",
      ".",
      "",
      "/",
      "a/",
      "/a",
      "a//b",
      "a/./b",
      "a/../b",
      "../a",
    ];
    for (const n of [...names, "./a/", ".a", "a/.b", "a/..b", "...", "./.../x", "a/...", "././a", ".//a"]) {
      expect([n, cleanPath(n)]).toEqual([n, cleanRootPath(n)]);
    }
  });

  it("octal fields in every spelling tar writers use read as the general parser reads them", async () => {
    const cases: Array<
      [Parameters<typeof header>[0], { mode: number; uid: number; size: number; mtime: bigint }]
    > = [
      // NUL-terminated, zero-padded (GNU, Go, molt)
      [
        { name: "a", mode: "0000644\0", uid: "0001750\0", size: "00000000003\0", mtime: "14672376630\0" },
        { mode: 0o644, uid: 1000, size: 3, mtime: 0o14672376630n },
      ],
      // space-padded and space-terminated (old tars), no leading zeros
      [
        { name: "b", mode: "   755 \0", uid: "     0 \0", size: "          3 ", mtime: " 14672376630" },
        { mode: 0o755, uid: 0, size: 3, mtime: 0o14672376630n },
      ],
      // all NUL (an empty field) and base-256 (GNU, for ids past 8 octal digits)
      [
        {
          name: "c",
          mode: "\0\0\0\0\0\0\0\0",
          uid: Buffer.from([0x80, 0, 0, 0, 0, 0x01, 0x00, 0x00]),
          size: "00000000003\0",
          mtime: "00000000000\0",
        },
        { mode: 0, uid: 65536, size: 3, mtime: 0n },
      ],
    ];
    for (const [fields, want] of cases) {
      const body = Buffer.alloc(512);
      body.write("xyz");
      const tar = new TarReader(
        new ByteReader(once(Buffer.concat([header(fields), body, Buffer.alloc(1024)]))),
      );
      const h = await tar.next();
      expect(
        h && { name: h.name, mode: h.mode, uid: h.uid, size: h.size, mtime: h.mtimeNs / 1_000_000_000n },
      ).toEqual({
        name: fields.name,
        ...want,
      });
      expect(tar.bytes.take(3)?.toString()).toBe("xyz");
      expect(tar.finishBuffered()).toBe(true);
      expect(await tar.next()).toBeNull();
    }
  });

  it("a checksum stored as the signed sum (old writers) is still accepted, a wrong one refused", async () => {
    const fields = {
      name: "caf\u00e9",
      mode: "0000644\0",
      uid: "0000000\0",
      size: "00000000000\0",
      mtime: "00000000000\0",
    };
    const h = header(fields); // the name's UTF-8 bytes are >= 0x80: signed and unsigned sums differ
    let signed = 8 * 32;
    for (let i = 0; i < 512; i++) if (i < 148 || i >= 156) signed += (h[i]! << 24) >> 24;
    const old = Buffer.from(h);
    old.write(`${signed.toString(8).padStart(6, "0")}\0 `, 148, 8, "latin1");
    for (const block of [h, old]) {
      const tar = new TarReader(new ByteReader(once(Buffer.concat([block, Buffer.alloc(1024)]))));
      expect((await tar.next())?.name).toBe("caf\u00e9");
    }
    const bad = Buffer.from(h);
    bad.write("0000001\0", 148, 8, "latin1");
    const tar = new TarReader(new ByteReader(once(Buffer.concat([bad, Buffer.alloc(1024)]))));
    await expect(tar.next()).rejects.toThrow(/checksum/);
  });

  it("PAX times in every spelling, and PAX records of one header or several, read as before", async () => {
    /** A PAX header (typeflag x) with `records`, then a file header named "f". */
    const pax = (records: Array<[string, string]>, flag = "x") => {
      const body = Buffer.from(
        records
          .map(([k, v]) => {
            const rest = ` ${k}=${v}\n`;
            let len = rest.length + 2;
            if (`${len}${rest}`.length !== len) len++;
            return `${len}${rest}`;
          })
          .join(""),
      );
      const x = header({
        name: "pax",
        mode: "0000644\0",
        uid: "0000000\0",
        size: `${body.length.toString(8).padStart(11, "0")}\0`,
        mtime: "00000000000\0",
      });
      x.write(flag, 156, 1, "latin1");
      let sum = 0;
      x.write("        ", 148, 8, "latin1");
      for (const b of x) sum += b;
      x.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148, 8, "latin1");
      const padded = Buffer.alloc(Math.ceil(body.length / 512) * 512);
      body.copy(padded);
      return Buffer.concat([x, padded]);
    };
    const file = header({
      name: "f",
      mode: "0000644\0",
      uid: "0000000\0",
      size: "00000000000\0",
      mtime: "00000000007\0",
    });
    const cases: Array<[string, bigint]> = [
      ["1700000000.123456789", 1_700_000_000_123_456_789n],
      ["1700000000", 1_700_000_000_000_000_000n],
      ["1700000000.5", 1_700_000_000_500_000_000n],
      ["1700000000.1234567891234", 1_700_000_000_123_456_789n],
      ["-5.25", -5_250_000_000n],
      ["0.000000001", 1n],
      ["12345678901234567", 12_345_678_901_234_567_000_000_000n],
    ];
    for (const [v, ns] of cases) {
      const tar = new TarReader(
        new ByteReader(once(Buffer.concat([pax([["mtime", v]]), file, Buffer.alloc(1024)]))),
      );
      expect([v, (await tar.next())?.mtimeNs]).toEqual([v, ns]);
    }
    for (const bad of ["1.2.3", "x", "1e9", ""]) {
      const tar = new TarReader(
        new ByteReader(once(Buffer.concat([pax([["mtime", bad]]), file, Buffer.alloc(1024)]))),
      );
      await expect(tar.next(), bad).rejects.toThrow(/PAX time/);
    }
    // two PAX headers merge (the later record wins), a global one applies under them, and every
    // body arrives in pieces of 7 bytes (no fast path)
    const bytes = Buffer.concat([
      pax([["SCHILY.xattr.user.g", "global"]], "g"),
      pax([
        ["path", "first"],
        ["SCHILY.xattr.user.a", "1"],
      ]),
      pax([
        ["path", "second"],
        ["uid", "42"],
      ]),
      file,
      Buffer.alloc(1024),
    ]);
    async function* pieces() {
      for (let i = 0; i < bytes.length; i += 7) yield bytes.subarray(i, i + 7);
    }
    for (const source of [once(bytes), pieces()]) {
      const h = await new TarReader(new ByteReader(source)).next();
      expect(
        h && {
          name: h.name,
          uid: h.uid,
          xattrs: Object.fromEntries(Object.entries(h.xattrs).map(([k, v]) => [k, v.toString()])),
        },
      ).toEqual({
        name: "second",
        uid: 42,
        xattrs: { "user.g": "global", "user.a": "1" },
      });
    }
  });
});
