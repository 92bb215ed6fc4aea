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
});
