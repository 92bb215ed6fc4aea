import { existsSync, lstatSync, readlinkSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import * as tar from "tar-stream";
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "vitest";
import { entryFromStat } from "../src/baseline.js";
import { Baseline, extract as extractOn, type LayerSource, resolveInRoot } from "../src/index.js";
import { describeTree } from "./tree.js";

/*
 * Hostile tars, written with tar-stream's packer (not our reader), applied to a root that sits
 * next to a canary directory. After every case the canary must be byte-for-byte unchanged.
 */
const tmp = await mkdtemp(join(tmpdir(), "molt-snap-hostile-"));
const canary = join(tmp, "canary");
let root = "";
let before: Awaited<ReturnType<typeof describeTree>>;
let n = 0;
/** Every case runs twice: with the default hand-over to the writer thread, and with every create made there. */
let threadAfter: number | undefined;
const extract: typeof extractOn = (layers, dir, options = {}) =>
  extractOn(layers, dir, threadAfter === undefined ? options : { ...options, threadAfter });

type E = {
  name: string;
  type?: tar.Header["type"];
  linkname?: string;
  body?: string;
  devmajor?: number;
  devminor?: number;
};

function layer(entries: E[]): LayerSource {
  return {
    open: () => {
      const pack = tar.pack();
      for (const e of entries) {
        pack.entry(
          {
            name: e.name,
            type: e.type ?? "file",
            linkname: e.linkname,
            mode: 0o644,
            devmajor: e.devmajor,
            devminor: e.devminor,
          },
          e.body ?? "",
        );
      }
      pack.finalize();
      return Readable.from(pack);
    },
  };
}

beforeAll(async () => {
  await mkdir(join(canary, "etc"), { recursive: true });
  await writeFile(join(canary, "secret"), "do not touch");
  await writeFile(join(canary, "etc", "passwd"), "root:x:0:0::/root:/bin/sh\n");
  before = await describeTree(canary, { mtime: true });
});
beforeEach(async () => {
  root = join(tmp, `root${n++}`);
});
afterAll(() => rm(tmp, { recursive: true, force: true }));

/** A 512-byte ustar header of an empty regular file (mode 0644, uid/gid 0, mtime 0). */
function ustarHeader(name: string): Buffer {
  const h = Buffer.alloc(512);
  h.write(name, 0, 100, "utf8");
  h.write("0000644\0", 100);
  h.write("0000000\0", 108);
  h.write("0000000\0", 116);
  h.write("00000000000\0", 124);
  h.write("00000000000\0", 136);
  h.write("        ", 148);
  h.write("0", 156);
  h.write("ustar\0" + "00", 257, "latin1");
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148, "latin1");
  return h;
}

async function expectCanaryIntact(): Promise<void> {
  expect(await describeTree(canary, { mtime: true })).toEqual(before);
  expect((await stat(join(canary, "secret"))).nlink).toBe(1);
}

for (const mode of [undefined, 0]) {
  describe(`hostile layers never write outside the root${mode === 0 ? " (every create on the writer thread)" : ""}`, () => {
    beforeAll(() => {
      threadAfter = mode;
    });
    test("'..' traversal and absolute names are cleaned to paths inside the root", async () => {
      await extract(
        [
          layer([
            { name: "../../canary/evil", body: "x" },
            { name: `${canary}/abs`, body: "y" },
            { name: "./../../../secret", body: "z" },
          ]),
        ],
        root,
      );
      expect(await readFile(join(root, "canary", "evil"), "utf8")).toBe("x");
      expect(await readFile(join(root, canary, "abs"), "utf8")).toBe("y");
      expect(await readFile(join(root, "secret"), "utf8")).toBe("z");
      await expectCanaryIntact();
    });

    test("writes through symlinks planted earlier in the same layer stay inside", async () => {
      await extract(
        [
          layer([
            { name: "abs", type: "symlink", linkname: canary },
            { name: "abs/evil", body: "1" },
            { name: "up", type: "symlink", linkname: "../../../../../../.." },
            { name: "up/canary/evil2", body: "2" },
            { name: "rel", type: "symlink", linkname: "../canary" },
            { name: "rel/secret", body: "3" },
          ]),
        ],
        root,
      );
      expect(await readFile(join(root, canary, "evil"), "utf8")).toBe("1");
      expect(await readFile(join(root, "canary", "evil2"), "utf8")).toBe("2");
      expect(await readFile(join(root, "canary", "secret"), "utf8")).toBe("3");
      expect(readlinkSync(join(root, "abs"))).toBe(canary); // the symlink itself is kept as stored
      await expectCanaryIntact();
    });

    test("a symlink swapped in by a later layer (/etc -> outside) is resolved inside the root", async () => {
      await extract(
        [
          layer([
            { name: "etc/", type: "directory" },
            { name: "etc/hostname", body: "h" },
          ]),
          layer([{ name: "etc", type: "symlink", linkname: join(canary, "etc") }]),
          layer([
            { name: "etc/passwd", body: "hacked" },
            { name: "etc/.wh.passwd" },
            { name: "etc/.wh..wh..opq" },
          ]),
        ],
        root,
      );
      expect(lstatSync(join(root, "etc")).isSymbolicLink()).toBe(true);
      expect(lstatSync(join(root, canary, "etc")).isDirectory()).toBe(true);
      await expectCanaryIntact();
    });

    test("an existing symlink at the final component is replaced, not followed", async () => {
      await extract(
        [
          layer([{ name: "evil", type: "symlink", linkname: join(canary, "secret") }]),
          layer([{ name: "evil", body: "over" }]),
        ],
        root,
      );
      expect(lstatSync(join(root, "evil")).isFile()).toBe(true);
      expect(await readFile(join(root, "evil"), "utf8")).toBe("over");
      await expectCanaryIntact();
    });

    test("hardlinks to targets outside the root are refused", async () => {
      for (const linkname of ["../canary/secret", join(canary, "secret"), "lnk/secret"]) {
        const r = join(tmp, `hl${n++}`);
        await expect(
          extract(
            [
              layer([
                { name: "lnk", type: "symlink", linkname: canary },
                { name: "hl", type: "link", linkname },
              ]),
            ],
            r,
          ),
        ).rejects.toMatchObject({ code: "MOLT_EXTRACT_FAILED" });
      }
      await expectCanaryIntact();
    });

    test("hardlinks to directories, symlink loops and paths through files are refused with UnsafePathError", async () => {
      const cases: E[][] = [
        [
          { name: "d/", type: "directory" },
          { name: "hl", type: "link", linkname: "d" },
        ],
        [
          { name: "a", type: "symlink", linkname: "b" },
          { name: "b", type: "symlink", linkname: "a" },
          { name: "a/x", body: "" },
        ],
        [
          { name: "f", body: "" },
          { name: "f/x", body: "" },
        ],
      ];
      for (const c of cases) {
        await expect(extract([layer(c)], join(tmp, `bad${n++}`))).rejects.toMatchObject({
          code: "MOLT_UNSAFE_PATH",
        });
      }
      await expectCanaryIntact();
    });

    test("device nodes: refused or skipped when not allowed", async () => {
      const dev = layer([
        { name: "sda", type: "block-device", devmajor: 8, devminor: 0 },
        { name: "ok", body: "k" },
      ]);
      await expect(extract([dev], root, { devices: "error" })).rejects.toMatchObject({
        code: "MOLT_UNSAFE_PATH",
      });
      const r2 = join(tmp, `dev${n++}`);
      const b = await extract([dev], r2, { devices: "skip" });
      expect(lstatSync(join(r2, "sda"), { throwIfNoEntry: false })).toBeUndefined();
      expect(b.get("sda")).toBeUndefined();
      expect(await readFile(join(r2, "ok"), "utf8")).toBe("k");
    });

    test("a tar bomb of 100,000 tiny entries stays inside and can be capped", async () => {
      // Headers written by hand from the ustar spec (fast enough for 100k entries).
      const blocks: Buffer[] = [];
      for (let i = 0; i < 100_000; i++) blocks.push(ustarHeader(`bomb/${i % 100}/${i}`));
      blocks.push(ustarHeader("../../canary/after-bomb"), Buffer.alloc(1024));
      const bytes = Buffer.concat(blocks);
      const bomb: LayerSource = { open: () => Readable.from([bytes]) };
      // On tmpfs when there is one: creating 100k files on this machine's disk takes ~10 s even for GNU tar.
      const base = existsSync("/dev/shm") ? await mkdtemp("/dev/shm/molt-bomb-") : join(tmp, "bomb");
      try {
        await expect(
          extract([bomb], join(base, "capped"), { limits: { entries: 10_000 } }),
        ).rejects.toMatchObject({
          code: "MOLT_EXTRACT_LIMIT",
        });
        const r = join(base, "root");
        const b = await extract([bomb], r, { hash: false });
        expect(b.size).toBe(1 + 1 + 100 + 100_000 + 2); // root, bomb/, 100 dirs, files, canary/ + after-bomb
        expect(await readFile(join(r, "canary", "after-bomb"), "utf8")).toBe("");
        await expectCanaryIntact();
      } finally {
        await rm(base, { recursive: true, force: true });
      }
    }, 120_000);

    test("corrupt and truncated tars fail with a typed error", async () => {
      const garbage: LayerSource = { open: () => Readable.from([Buffer.alloc(1024, 0x41)]) };
      await expect(extract([garbage], root)).rejects.toMatchObject({ code: "MOLT_EXTRACT_FAILED" });
      const full = await new Promise<Buffer>((resolve) => {
        const chunks: Buffer[] = [];
        const s = layer([{ name: "big", body: "y".repeat(5000) }]).open() as Readable;
        s.on("data", (d: Buffer) => chunks.push(d)).on("end", () => resolve(Buffer.concat(chunks)));
      });
      const truncated: LayerSource = { open: () => Readable.from([full.subarray(0, 2048)]) };
      await expect(extract([truncated], join(tmp, `tr${n++}`))).rejects.toMatchObject({
        code: "MOLT_EXTRACT_FAILED",
      });
    });

    test("a create the kernel refuses fails with a typed error naming the entry", async () => {
      // The baseline given says the root is empty, but "taken" exists: O_EXCL refuses it.
      await mkdir(root, { recursive: true });
      await writeFile(join(root, "taken"), "mine");
      const baseline = new Baseline();
      baseline.set("", entryFromStat(lstatSync(root, { bigint: true })));
      const files = Array.from({ length: 100 }, (_, i) => ({ name: `d/f${i}`, body: `${i}` }));
      await expect(
        extract([layer([...files, { name: "taken", body: "theirs" }, { name: "later", body: "l" }])], root, {
          baseline,
        }),
      ).rejects.toMatchObject({ code: "MOLT_EXTRACT_FAILED", entry: "taken" });
      expect(await readFile(join(root, "taken"), "utf8")).toBe("mine");
      expect(existsSync(join(root, "later"))).toBe(false);
      await expectCanaryIntact();
    });

    test("an endless layer stops promptly when the signal aborts", async () => {
      let i = 0;
      const endless: LayerSource = {
        open: () =>
          new Readable({
            read() {
              const blocks: Buffer[] = [];
              for (let k = 0; k < 100; k++) blocks.push(ustarHeader(`spam/${i++}`));
              this.push(Buffer.concat(blocks));
            },
          }),
      };
      const ac = new AbortController();
      await expect(
        extract([endless], root, {
          signal: ac.signal,
          hash: false,
          onProgress: (e) => {
            if (e.type === "molt:snapshot:extract-progress" && e.entries >= 2000) ac.abort();
          },
        }),
      ).rejects.toMatchObject({ code: "MOLT_ABORTED" });
      expect(i).toBeLessThan(100_000);
    });
  });
}

describe("resolveInRoot", () => {
  test("follows symlinks as the container sees them and never leaves the root", async () => {
    const r = join(tmp, "resolve");
    await extract(
      [
        layer([
          { name: "etc", type: "symlink", linkname: "/host/etc" },
          { name: "up", type: "symlink", linkname: "../../.." },
          { name: "usr/lib/", type: "directory" },
          { name: "lib", type: "symlink", linkname: "usr/lib" },
        ]),
      ],
      r,
    );
    expect(await resolveInRoot(r, "/etc/passwd")).toBe(join(r, "host/etc/passwd"));
    expect(await resolveInRoot(r, "up/up/x")).toBe(join(r, "x"));
    expect(await resolveInRoot(r, "/lib/../lib/libc.so")).toBe(join(r, "usr/lib/libc.so"));
    expect(await resolveInRoot(r, "/lib", { followLast: false })).toBe(join(r, "lib"));
  });
});
