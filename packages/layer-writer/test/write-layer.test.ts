import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdir, mkdtemp, readdir, readFile, rm, truncate, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { gunzipSync } from "node:zlib";
import {
  BlobNotFoundError,
  BlobStore,
  comparePaths,
  FileChangedError,
  InvalidEntryError,
  OPAQUE_MARKER,
  planLayer,
  writeLayer,
} from "@molt/layer-writer";
import { type Change, DigestMismatchError, type FileEntry, parseDigest } from "@molt/oci";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { run, treeChanges } from "./helpers.js";

let work: string;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "molt-lw-"));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

const f = (path: string, extra: Partial<FileEntry> = {}): Change => ({
  kind: "add",
  entry: { path, type: "file", mode: 0o644, uid: 0, gid: 0, size: 0, mtimeNs: 0n, ...extra },
});
const d = (path: string, extra: Partial<FileEntry> = {}): Change =>
  f(path, { type: "directory", mode: 0o755, ...extra });

describe("planLayer", () => {
  it("sorts depth-first with the opaque marker first in its directory, and drops redundant whiteouts", async () => {
    const items = await planLayer([
      f("b-c"),
      f("b/z"),
      d("b"),
      { kind: "opaque", path: "b" },
      f("b/-a"),
      { kind: "delete", path: "gone" },
      { kind: "delete", path: "gone/sub/file" },
      { kind: "delete", path: "b/old" },
      { kind: "delete", path: "x/y" },
      f("/./a//file"),
    ]);
    expect(items.map((i) => i.path)).toEqual([
      ".wh.gone",
      "a/file",
      "b",
      "b/.wh..wh..opq",
      "b/-a",
      "b/z",
      "b-c",
      "x/.wh.y",
    ]);
  });

  it("turns delete + re-add of a directory into an opaque directory; an added path loses its whiteout", async () => {
    const items = await planLayer([
      { kind: "delete", path: "etc" },
      d("etc"),
      { kind: "delete", path: "f" },
      f("f"),
    ]);
    expect(items.map((i) => `${i.kind}:${i.path}`)).toEqual([
      "entry:etc",
      "opaque:etc/.wh..wh..opq",
      "entry:f",
    ]);
  });

  it("asks for missing parent directories, keeping their mode and owner", async () => {
    const items = await planLayer([f("usr/local/bin/x")], {
      parents: (p) => ({
        path: p,
        type: "directory",
        mode: p === "usr" ? 0o700 : 0o750,
        uid: 7,
        gid: 8,
        size: 0,
        mtimeNs: 0n,
      }),
    });
    expect(
      items.map((i) => [i.path, i.kind === "entry" ? i.entry.mode : 0, i.kind === "entry" ? i.entry.uid : 0]),
    ).toEqual([
      ["usr", 0o700, 7],
      ["usr/local", 0o750, 7],
      ["usr/local/bin", 0o750, 7],
      ["usr/local/bin/x", 0o644, 0],
    ]);
  });

  it("rejects '..' and a hardlink to nothing", async () => {
    await expect(planLayer([f("a/../../etc/passwd")])).rejects.toBeInstanceOf(InvalidEntryError);
    await expect(planLayer([f("l", { type: "hardlink", linkTarget: "missing" })])).rejects.toMatchObject({
      code: "MOLT_INVALID_ENTRY",
      path: "l",
    });
    // never an entry for the root
    expect(await planLayer([d("/"), d(".")])).toEqual([]);
  });

  it("orders paths like a segment-by-segment comparison (checked against one written from the definition)", () => {
    const bySegments = (a: string, b: string): number => {
      const sa = a.split("/");
      const sb = b.split("/");
      for (let i = 0; i < Math.min(sa.length, sb.length); i++) {
        if (sa[i] === sb[i]) continue;
        if (sa[i] === OPAQUE_MARKER) return -1;
        if (sb[i] === OPAQUE_MARKER) return 1;
        return sa[i]! < sb[i]! ? -1 : 1;
      }
      return Math.sign(sa.length - sb.length);
    };
    // '/' (0x2f) sorts above '-' and '.', below letters: the cases a plain string compare gets wrong
    const part = fc.constantFrom(
      "a",
      "b",
      "/",
      "-",
      ".",
      "ab",
      OPAQUE_MARKER,
      ".wh.",
      "é",
      "\u{1F600}",
      "\uffff",
    );
    const path = fc.array(part, { maxLength: 6 }).map((p) => p.join(""));
    fc.assert(
      fc.property(path, path, (a, b) => {
        expect(Math.sign(comparePaths(a, b))).toBe(bySegments(a, b));
        expect(Math.sign(comparePaths(b, a)) + 0).toBe(-bySegments(a, b) + 0); // +0: no -0
      }),
      { numRuns: 20_000 },
    );
    expect(comparePaths("a/b", "a.b")).toBeLessThan(0);
    expect(comparePaths("a-b", "a/b")).toBeGreaterThan(0);
    expect(comparePaths(`d/${OPAQUE_MARKER}`, "d/-")).toBeLessThan(0);
  });

  it("keeps every field of the entries it stores compactly, and the last change to a path wins", async () => {
    const tool = f("usr/bin/tool", {
      size: 5,
      mode: 0o4755,
      uid: 3_000_000,
      gid: 2,
      mtimeNs: -1_500_000_001n,
      source: "/r/usr/bin/tool",
    });
    const plain = tool.kind === "add" ? tool.entry : undefined;
    const items = await planLayer([
      tool,
      f("etc/a", { size: 1, source: "/elsewhere/a" }), // source not under a root ending in the path
      f("etc/b", { size: 1, source: "/r2/etc/b" }),
      f("etc/c", { size: 1, source: "/r/etc/b" }),
      f("big", { mtimeNs: 2n ** 64n + 5n }), // beyond 64 bits: kept as given
      f("x", { size: 9, source: "/r/x" }),
      f("x", { type: "symlink", linkTarget: "y" }), // replaced by a link…
      f("y", { type: "symlink", linkTarget: "z" }),
      f("y", { size: 2, source: "/r/y" }), // …and a link replaced by a plain file
    ]);
    const byPath = new Map(items.map((i) => [i.path, i.kind === "entry" ? i.entry : undefined]));
    expect(byPath.get("usr/bin/tool")).toEqual(plain);
    expect(byPath.get("etc/a")?.source).toBe("/elsewhere/a");
    expect(byPath.get("etc/b")?.source).toBe("/r2/etc/b");
    expect(byPath.get("etc/c")?.source).toBe("/r/etc/b");
    expect(byPath.get("big")?.mtimeNs).toBe(2n ** 64n + 5n);
    expect(byPath.get("x")).toMatchObject({ type: "symlink", linkTarget: "y" });
    expect(byPath.get("x")?.source).toBeUndefined();
    expect(byPath.get("y")).toEqual({
      path: "y",
      type: "file",
      mode: 0o644,
      uid: 0,
      gid: 0,
      size: 2,
      mtimeNs: 0n,
      source: "/r/y",
    });
    expect(items.map((i) => i.path)).toEqual(["big", "etc/a", "etc/b", "etc/c", "usr/bin/tool", "x", "y"]);
  });
});

describe("writeLayer", () => {
  it("gives the same digests for the same tree in another directory with other mtimes (reproducible)", async () => {
    const make = async (root: string, mtime: number) => {
      await mkdir(join(root, "app/sub"), { recursive: true });
      await writeFile(join(root, "app/a.txt"), "alpha\n");
      await writeFile(join(root, "app/sub/b.bin"), Buffer.alloc(2 << 20, 7));
      await run("ln", ["-s", "a.txt", join(root, "app/link")]);
      for (const p of ["app/a.txt", "app/sub/b.bin", "app/sub", "app"])
        await utimes(join(root, p), mtime, mtime + 0.5);
      return treeChanges(root);
    };
    const epoch = 1_000_000_000;
    const one = await make(join(work, "r1"), 1_700_000_000);
    const two = await make(join(work, "elsewhere", "r2"), 1_800_000_000.25);
    const s1 = await BlobStore.open(join(work, "s1"));
    const s2 = await BlobStore.open(join(work, "s2"));
    const a = await writeLayer(one, s1, { sourceDateEpoch: epoch });
    const b = await writeLayer(two, s2, { sourceDateEpoch: epoch });
    expect(b.digest).toBe(a.digest);
    expect(b.diffId).toBe(a.diffId);
    const listing = await run("tar", ["--full-time", "-tvzf", s1.path(a.digest)], {
      env: { ...process.env, TZ: "UTC" },
    });
    expect(listing.stdout).toContain("2001-09-09 01:46:40 app/a.txt"); // clamped to the epoch
    // without the clamp, the mtimes differ and so do the digests
    const c = await writeLayer(one, s1);
    const e = await writeLayer(two, s2);
    expect(c.diffId).not.toBe(e.diffId);
  });

  it("writes whole-second mtimes in plain ustar headers unless asked for nanoseconds (PAX)", async () => {
    const root = join(work, "mtimes");
    await mkdir(root, { recursive: true });
    await writeFile(join(root, "f"), "x\n");
    // 2023-11-14 22:13:20.75 UTC; and one before 1970 with a fraction (rounds towards the past)
    await utimes(join(root, "f"), 1_700_000_000.75, 1_700_000_000.75);
    const changes = (await treeChanges(root)).filter((c) => c.kind === "add" && c.entry.path === "f");
    const neg: Change = {
      kind: "add",
      entry: { path: "old", type: "file", mode: 0o644, uid: 0, gid: 0, size: 0, mtimeNs: -1_500_000_000n },
    };
    const s = await BlobStore.open(join(work, "s-mtimes"));
    const whole = await writeLayer(changes, s, { compression: "none" });
    const tar = await readFile(s.path(whole.digest));
    // One 512-byte ustar header (no PAX 'x' block), one data block, the two zero blocks.
    expect(tar.length).toBe(512 + 512 + 1024);
    expect(String.fromCharCode(tar[156]!)).toBe("0");
    // mtime field (octal, offset 136): the whole second 1700000000
    expect(tar.subarray(136, 147).toString()).toBe((1_700_000_000).toString(8).padStart(11, "0"));
    // before 1970 the fraction rounds towards the past (-1.5 s → -2 s; ustar cannot hold it, PAX does)
    const both = await writeLayer([...changes, neg], s, { compression: "none" });
    const listing = await run("tar", ["--full-time", "-tvf", s.path(both.digest)], {
      env: { ...process.env, TZ: "UTC" },
    });
    expect(listing.stdout).toContain("2023-11-14 22:13:20 f");
    expect(listing.stdout).toContain("1969-12-31 23:59:58 old");
    const precise = await writeLayer([...changes, neg], s, {
      compression: "none",
      mtimePrecision: "nanosecond",
    });
    const ptar = await readFile(s.path(precise.digest));
    expect(String.fromCharCode(ptar[156]!)).toBe("x"); // a PAX extended header carries the fraction
    expect(ptar.toString("latin1")).toContain("mtime=1700000000.75\n");
  });

  it("writes zstd (zstd CLI) and uncompressed layers with matching media types and the same diffID", async () => {
    const src = join(work, "z.txt");
    await writeFile(src, "zstd ".repeat(100_000));
    const changes = [f("z.txt", { size: 500_000, source: src })];
    const store = await BlobStore.open(join(work, "sz"));
    const gz = await writeLayer(changes, store);
    const zs = await writeLayer(changes, store, { compression: "zstd", level: 19 });
    const none = await writeLayer(changes, store, { compression: "none" });
    expect(zs.mediaType).toBe("application/vnd.oci.image.layer.v1.tar+zstd");
    expect(none.mediaType).toBe("application/vnd.oci.image.layer.v1.tar");
    expect(new Set([gz.diffId, zs.diffId, none.diffId, none.digest]).size).toBe(1);
    expect((await run("tar", ["--zstd", "-tf", store.path(zs.digest)])).stdout.trim().split("\n")).toEqual([
      "z.txt",
    ]);
    const dz = await run("sh", ["-c", `zstd -dc ${store.path(zs.digest)} | sha256sum`]);
    expect(`sha256:${dz.stdout.split(" ")[0]}`).toBe(zs.diffId);
  });

  it("reads entries from open() streams and turns same-inode files into hardlinks when asked", async () => {
    const src = join(work, "orig");
    await writeFile(src, "shared\n");
    await run("ln", [src, join(work, "other")]);
    const store = await BlobStore.open(join(work, "sh"));
    const l = await writeLayer(
      [
        f("z", { size: 7, source: src }),
        f("m", { size: 7, source: join(work, "other") }),
        f("s", { size: 5, open: () => Readable.from([Buffer.from("str"), Buffer.from("em")]) }),
      ],
      store,
      { detectHardlinks: true },
    );
    const r = await run("tar", ["-tvzf", store.path(l.digest)]);
    const lines = r.stdout.trim().split("\n");
    expect(lines[0]).toMatch(/^-rw-r--r-- .* 7 .* m$/);
    expect(lines[1]).toMatch(/^-rw-r--r-- .* 5 .* s$/);
    expect(lines[2]).toMatch(/^hrw-r--r-- .* z link to m$/);
  });

  it("fails with FileChangedError when a file's size changed, leaving nothing in the store", async () => {
    const src = join(work, "shrinks");
    await writeFile(src, "0123456789");
    const store = await BlobStore.open(join(work, "fc"));
    const err = await writeLayer([f("x", { size: 20, source: src })], store).catch((e) => e);
    expect(err).toBeInstanceOf(FileChangedError);
    expect(err.code).toBe("MOLT_FILE_CHANGED");
    expect(await readdir(join(store.dir, "sha256"))).toEqual([]);
    expect(await readdir(join(store.dir, ".tmp"))).toEqual([]);
    // a symlink where a file was announced is refused (O_NOFOLLOW), not followed
    await run("ln", ["-sf", "/etc/passwd", join(work, "sneaky")]);
    await expect(
      writeLayer([f("y", { size: 4, source: join(work, "sneaky") })], store),
    ).rejects.toBeInstanceOf(FileChangedError);
  });

  it("stops on abort and cleans its temp file", async () => {
    const store = await BlobStore.open(join(work, "ab"));
    const ctl = new AbortController();
    const changes = Array.from({ length: 50 }, (_, i) =>
      f(`f${i}`, {
        size: 1 << 20,
        open: () => {
          if (i === 10) ctl.abort(new Error("stop"));
          return Readable.from([Buffer.alloc(1 << 20)]);
        },
      }),
    );
    await expect(writeLayer(changes, store, { signal: ctl.signal })).rejects.toThrow("stop");
    expect(await readdir(join(store.dir, ".tmp"))).toEqual([]);
    expect(await readdir(join(store.dir, "sha256"))).toEqual([]);
  });

  it("encodes sizes of 8 GiB and more so GNU tar reads them (PAX size + base-256)", async () => {
    const { encodeTarHeader } = await import("@molt/oci");
    const size = 9 * 1024 * 1024 * 1024 + 5;
    const head = encodeTarHeader({
      name: "huge",
      type: "file",
      mode: 0o644,
      uid: 0,
      gid: 0,
      size,
      mtimeNs: 0n,
    });
    expect(head.includes(Buffer.from(`19 size=${size}\n`))).toBe(true);
    const file = join(work, "huge.tar");
    await writeFile(file, head);
    await truncate(file, head.length + size + 1024); // sparse: the data and the end blocks are zeros
    const r = await run("tar", ["-tvf", file]);
    expect(r.stdout).toMatch(new RegExp(`^-rw-r--r-- 0/0 +${size} .* huge\\n$`));
  });

  it("writes several layers concurrently with the same bytes as one at a time", async () => {
    const store = await BlobStore.open(join(work, "cc"));
    const layers = Array.from({ length: 4 }, (_, i) => [
      f(`l${i}`, {
        size: 3 << 20,
        open: () => Readable.from([Buffer.alloc(3 << 20, `layer ${i} `)]),
      }),
    ]);
    const together = await Promise.all(layers.map((c) => writeLayer(c, store)));
    const alone: string[] = [];
    for (const c of layers) alone.push((await writeLayer(c, store)).digest);
    expect(together.map((l) => l.digest)).toEqual(alone);
    expect(new Set(alone).size).toBe(4);
  });

  it("reports progress and counts entries", async () => {
    const store = await BlobStore.open(join(work, "pg"));
    const events: string[] = [];
    const l = await writeLayer([d("a"), f("a/b"), { kind: "delete", path: "c" }], store, {
      onProgress: (e) => events.push(e.type),
    });
    expect(l.entries).toBe(3);
    expect(events[0]).toBe("molt:layer:planned");
    expect(events.at(-1)).toBe("molt:layer:written");
    expect(gunzipSync(await readFile(store.path(l.digest))).length).toBe(l.uncompressedSize);
  });
});

describe("BlobStore", () => {
  it("stores content-addressed, reads verified, and reports corruption and absence", async () => {
    const store = await BlobStore.open(join(work, "bs"));
    const { digest, size } = await store.put(Buffer.from("hello"));
    expect(digest).toBe("sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824");
    expect(size).toBe(5);
    expect(await store.has(digest)).toBe(true);
    const read = async (dg: typeof digest) => {
      const chunks: Buffer[] = [];
      for await (const c of store.openRead(dg)) chunks.push(c as Buffer);
      return Buffer.concat(chunks).toString();
    };
    expect(await read(digest)).toBe("hello");
    await writeFile(store.path(digest), "hellp");
    await expect(read(digest)).rejects.toBeInstanceOf(DigestMismatchError);
    const missing = "sha256:0000000000000000000000000000000000000000000000000000000000000000" as const;
    await expect(read(missing)).rejects.toBeInstanceOf(BlobNotFoundError);
  });

  it("writes chunks issued without waiting, in order, whole (queued chunks share one writev)", async () => {
    const store = await BlobStore.open(join(work, "bs-batch"));
    const w = await store.createWriter();
    const parts = Array.from({ length: 3000 }, (_, i) => Buffer.alloc(1 + ((i * 7919) % 5000), i % 251));
    const acks: Promise<void>[] = [];
    for (const [i, p] of parts.entries()) {
      acks.push(w.write(p));
      if (i % 500 === 0) await acks[acks.length - 1]; // sometimes wait, so several batches form
    }
    await Promise.all(acks);
    const { digest, size } = await w.commit();
    const all = Buffer.concat(parts);
    expect(size).toBe(all.length);
    expect(digest).toBe(`sha256:${createHash("sha256").update(all).digest("hex")}`);
    expect((await readFile(store.path(digest))).equals(all)).toBe(true);
  });

  // runs the built package (dist/) in two real processes: `pnpm test` builds first
  it("is safe for two processes writing the same and different blobs at once", async () => {
    const dir = join(work, "shared");
    const script = `
      const { BlobStore } = await import(${JSON.stringify(new URL("../dist/index.js", import.meta.url).pathname)});
      const s = await BlobStore.open(${JSON.stringify(dir)});
      const out = [];
      for (let i = 0; i < 20; i++) out.push((await s.put(Buffer.alloc(300000, i % 5))).digest);
      out.push((await s.put(Buffer.from(process.argv[1]))).digest);
      console.log(JSON.stringify(out));`;
    const spawnOne = (tag: string) =>
      new Promise<string[]>((resolve, reject) => {
        const c = spawn(process.execPath, ["--input-type=module", "-e", script, tag], {
          stdio: ["ignore", "pipe", "pipe"],
        });
        let out = "";
        let err = "";
        c.stdout.on("data", (x: Buffer) => (out += x));
        c.stderr.on("data", (x: Buffer) => (err += x));
        c.on("close", (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(err))));
      });
    const [a, b] = await Promise.all([spawnOne("one"), spawnOne("two")]);
    const store = await BlobStore.open(dir);
    for (const dg of new Set([...a!, ...b!])) {
      const chunks: Buffer[] = [];
      for await (const c of store.openRead(parseDigest(dg))) chunks.push(c as Buffer); // verified read
      expect(chunks.length).toBeGreaterThan(0);
    }
    expect((await readdir(join(dir, "sha256"))).length).toBe(7); // 5 shared + "one" + "two"
    expect(await readdir(join(dir, ".tmp"))).toEqual([]);
  });
});
