import { createHash } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BLOCK_SIZE, BlobStore, writeLayer } from "@molt/layer-writer";
import { type Change, encodeTarHeader, type FileEntry, parseDigest, TAR_END, tarPadding } from "@molt/oci";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

let work: string;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "molt-lw-hdr-"));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

describe("headers written into the layer's blocks", () => {
  it("give the tar that header + body + padding per entry spell, up to a block's end", async () => {
    // Sizes vary so that headers start at every kind of place in a 1 MiB block: with room, at
    // exactly 512 bytes before its end, and straddling it. Some entries need PAX headers (long or
    // non-ASCII names, sub-second times) and go the encoded way; all must land byte for byte.
    const entries: FileEntry[] = [
      { path: "d", type: "directory", mode: 0o755, uid: 0, gid: 0, size: 0, mtimeNs: 5n * 10n ** 9n },
    ];
    const bodies = new Map<string, Buffer>();
    let seed = 7;
    for (let i = 0; i < 2500; i++) {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      const size = seed % 3000;
      const name =
        i % 97 === 0
          ? `d/${"long".repeat(30)}-${i}`
          : i % 89 === 0
            ? `d/é-${i}`
            : `d/f${String(i).padStart(5, "0")}`;
      const source = `/nowhere/${i}`;
      bodies.set(source, Buffer.alloc(size, i % 251));
      entries.push({
        path: name,
        type: "file",
        mode: 0o644,
        uid: i % 3,
        gid: 0,
        size,
        mtimeNs: (1_700_000_000n + BigInt(i)) * 10n ** 9n + (i % 101 === 0 ? 1n : 0n),
        source,
      });
    }
    const store = await BlobStore.open(join(work, "store"));
    const r = await writeLayer(
      entries.map((entry): Change => ({ kind: "add", entry })),
      store,
      {
        compression: "none",
        entryDigests: true,
        mtimePrecision: "nanosecond",
        knownBytes: (s) => bodies.get(s),
      },
    );
    // the expected tar, entry by entry, in the names' order (all are under d/, sorted by code unit)
    const sorted = [...entries].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    const parts: Buffer[] = [];
    const digests: string[] = [];
    const offsets: number[] = [];
    let offset = 0;
    for (const e of sorted) {
      const head = encodeTarHeader({
        name: e.path,
        type: e.type,
        mode: e.mode,
        uid: e.uid,
        gid: e.gid,
        size: e.size,
        mtimeNs: e.mtimeNs,
      });
      const body = e.source ? bodies.get(e.source)! : Buffer.alloc(0);
      const bytes = Buffer.concat([head, body, Buffer.alloc(tarPadding(body.length))]);
      offsets.push(offset);
      digests.push(sha256(bytes));
      parts.push(bytes);
      offset += bytes.length;
    }
    offsets.push(offset);
    const expected = Buffer.concat([...parts, TAR_END]);
    const got = await readFile(store.path(parseDigest(r.diffId)));
    expect(got.length).toBe(expected.length);
    expect(got.equals(expected)).toBe(true);
    expect(r.diffId).toBe(`sha256:${sha256(expected)}`);
    expect(r.entryDigests!.digests).toEqual(digests);
    expect(r.entryDigests!.offsets).toEqual(offsets);
    expect(r.entryDigests!.types.every((t) => t === "0" || t === "5")).toBe(true);
    // the case the test is for did happen: a plain header met the block's end (tar entries are
    // 512-aligned, so a ustar block never straddles it: with 512 bytes left it is written encoded)
    const ustarStarts = sorted
      .map((e, i) => ({ e, at: offsets[i]! }))
      .filter(
        ({ e }) => e.path.length <= 100 && /^[\x01-\x7f]*$/.test(e.path) && e.mtimeNs % 10n ** 9n === 0n,
      )
      .map(({ at }) => BLOCK_SIZE - (at % BLOCK_SIZE));
    expect(ustarStarts.some((free) => free === 512)).toBe(true);
  });
});
