import { createHash } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { gunzipSync } from "node:zlib";
import { BlobStore, type LayerResult, writeLayer } from "@molt/layer-writer";
import type { Change, FileEntry } from "@molt/oci";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { FingerprintTable } from "../src/cache/fingerprint-table.js";
import { fingerprintLayer, layerDelta } from "../src/cache/layer-delta.js";
import { layerDeltaFromWritten } from "../src/cache/written-delta.js";
import { matchEach, matchInOrder } from "../src/cache/written-match.js";

let dir: string;
let store: BlobStore;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "molt-written-delta-"));
  store = await BlobStore.open(join(dir, "blobs"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const entry = (path: string, extra: Partial<FileEntry> = {}): Change => ({
  kind: "add",
  entry: {
    path,
    type: "file",
    mode: 0o644,
    uid: 0,
    gid: 0,
    size: 0,
    mtimeNs: 1_700_000_000n * 1_000_000_000n,
    ...extra,
  },
});

/** A layer of many kinds of entries: across 1 MiB blocks, PAX names and xattrs, links. */
async function layerOf(
  version: Record<string, string>,
  links = true,
): Promise<{ result: LayerResult; tar: Buffer }> {
  const src = join(dir, `src-${Math.random().toString(36).slice(2)}`);
  const changes: Change[] = [
    entry("app", { type: "directory", mode: 0o755 }),
    entry("app/sub", { type: "directory", mode: 0o750, uid: 7 }),
  ];
  await writeFile(src, "");
  let k = 0;
  for (const [path, content] of Object.entries(version)) {
    const file = `${src}-${k++}`;
    await writeFile(file, content);
    changes.push(entry(path, { size: Buffer.byteLength(content), source: file }));
  }
  const long = `app/${"very-long-directory-name-".repeat(8)}/leaf`;
  changes.push(
    entry(long.slice(0, long.lastIndexOf("/")), { type: "directory", mode: 0o755 }),
    entry(long, { size: 0 }),
    entry("app/sym", { type: "symlink", linkTarget: "sub/one" }),
    ...(links ? [entry("app/hard", { type: "hardlink", linkTarget: "app/sub/one" })] : []),
    entry("app/x", { xattrs: { "user.k": Buffer.from("v") } }),
  );
  const result = await writeLayer(changes, store, { entryDigests: true });
  const tar = gunzipSync(
    await new Promise<Buffer>((res, rej) => {
      const parts: Buffer[] = [];
      store
        .openRead(result.digest)
        .on("data", (c: Buffer) => parts.push(c))
        .on("end", () => res(Buffer.concat(parts)))
        .on("error", rej);
    }),
  );
  return { result, tar };
}

const chunks = (b: Buffer, n = 70_001) =>
  Readable.from(Array.from({ length: Math.ceil(b.length / n) }, (_, i) => b.subarray(i * n, (i + 1) * n)));

describe("a writer's entry digests", () => {
  const v1 = {
    "app/sub/one": "one\n",
    "app/sub/two": "two\n",
    "app/big": "b".repeat(1_500_000),
    "app/gone": "gone\n",
  };
  const v2 = {
    "app/sub/one": "ONE\n",
    "app/sub/two": "two\n",
    "app/big": "b".repeat(1_500_000),
    "app/new": "new\n",
  };

  test("are each entry's tar bytes hashed: the offsets cover the tar up to its end blocks", async () => {
    const { result, tar } = await layerOf(v1);
    const w = result.entryDigests!;
    expect(w.paths.length).toBe(result.entries);
    expect(w.offsets[0]).toBe(0);
    expect(w.offsets.at(-1)).toBe(tar.length - 1024);
    for (let i = 0; i < w.paths.length; i++) {
      const bytes = tar.subarray(w.offsets[i]!, w.offsets[i + 1]!);
      expect(createHash("sha256").update(bytes).digest("hex")).toBe(w.digests[i]);
    }
    // the link is written at the later of the two paths in tar order, naming the earlier
    const link = w.types.indexOf("1");
    expect([w.paths[link], w.linkTargets[link]].sort()).toEqual(["app/hard", "app/sub/one"]);
    expect(w.types[w.paths.indexOf("app/sub")]).toBe("5");
  });

  test("give the same delta, byte for byte, as parsing the layer does; nothing is read when nothing changed", async () => {
    const old = await layerOf(v1);
    const fp = FingerprintTable.of((await fingerprintLayer(chunks(old.tar), () => false))!)!;
    const now = await layerOf(v2);
    const parsed = await layerDelta(chunks(now.tar), fp);
    let opened = 0;
    const open = async () => {
      opened++;
      return { bytes: chunks(now.tar, 4096), destroy: () => undefined };
    };
    const handed = await layerDeltaFromWritten(now.result.entryDigests!, fp, open);
    expect(parsed).toBeDefined();
    // one changed (and the hard link to it), one new; one removed
    expect(parsed!.changed).toBe(3);
    expect(parsed!.removed).toBe(1);
    expect(handed).toEqual(parsed);
    expect(handed!.tar.equals(parsed!.tar)).toBe(true);
    expect(opened).toBe(1);

    const same = await layerOf(v2);
    const fp2 = FingerprintTable.of((await fingerprintLayer(chunks(same.tar), () => false))!)!;
    const none = await layerDeltaFromWritten(same.result.entryDigests!, fp2, open);
    expect(none).toEqual(await layerDelta(chunks(same.tar), fp2));
    expect(none!.changed).toBe(0);
    expect(opened).toBe(1);
  });

  test("without hard links in the layer: the same delta as parsing it, each changed, new and removed entry found", async () => {
    const old = await layerOf(v1, false);
    const fp = FingerprintTable.of((await fingerprintLayer(chunks(old.tar), () => false))!)!;
    const now = await layerOf(v2, false);
    expect(now.result.entryDigests!.linkTargets.every((l) => l === undefined)).toBe(true);
    const parsed = await layerDelta(chunks(now.tar), fp);
    const handed = await layerDeltaFromWritten(now.result.entryDigests!, fp, async () => ({
      bytes: chunks(now.tar, 4096),
      destroy: () => undefined,
    }));
    // app/sub/one changed, app/new is new, app/gone was removed; the rest is the same
    expect(parsed!.changed).toBe(2);
    expect(parsed!.removed).toBe(1);
    expect(handed).toEqual(parsed);
    expect(handed!.tar.equals(parsed!.tar)).toBe(true);
  });

  test("of a layer with the old one's paths in its order: matched whole, the same delta as parsing it", async () => {
    const old = await layerOf(v1, false);
    const fp = FingerprintTable.of((await fingerprintLayer(chunks(old.tar), () => false))!)!;
    const now = await layerOf({ ...v1, "app/sub/two": "TWO\n" }, false);
    const w = now.result.entryDigests!;
    const match = matchInOrder(w, fp)!;
    expect(match).toBeDefined();
    expect(match.changed.map((i) => w.paths[i])).toEqual(["app/sub/two"]);
    expect(match.removed).toEqual([]);
    expect(match.indexOf("app/sub")).toBe(w.paths.indexOf("app/sub"));
    expect(match.indexOf("app")).toBe(0);
    expect(match.indexOf("")).toBeUndefined();
    expect(match.indexOf("app/x")).toBe(w.paths.indexOf("app/x"));
    const parsed = await layerDelta(chunks(now.tar), fp);
    const handed = await layerDeltaFromWritten(w, fp, async () => ({
      bytes: chunks(now.tar, 4096),
      destroy: () => undefined,
    }));
    // the file and the two directories above it
    expect(parsed!.changed).toBe(1);
    expect(handed).toEqual(parsed);
    expect(handed!.tar.equals(parsed!.tar)).toBe(true);
    // nothing changed: nothing to write
    const same = matchInOrder((await layerOf(v1, false)).result.entryDigests!, fp)!;
    expect(same.changed).toEqual([]);
  });

  test("are matched entry by entry when the layer is not the old one's paths in its order, or has links", async () => {
    const old = await layerOf(v1, false);
    const fp = FingerprintTable.of((await fingerprintLayer(chunks(old.tar), () => false))!)!;
    // other paths (one new, one gone)
    expect(matchInOrder((await layerOf(v2, false)).result.entryDigests!, fp)).toBeUndefined();
    // a hard link
    const linked = await layerOf(v1);
    const fpLinked = FingerprintTable.of((await fingerprintLayer(chunks(linked.tar), () => false))!)!;
    expect(matchInOrder(linked.result.entryDigests!, fpLinked)).toBeUndefined();
    // the same paths in another order
    const w = old.result.entryDigests!;
    const swapped = { ...w, paths: [...w.paths] };
    [swapped.paths[2], swapped.paths[3]] = [swapped.paths[3]!, swapped.paths[2]!];
    expect(matchInOrder(swapped, fp)).toBeUndefined();
    // paths as written that clean up to the table's (a leading "./")
    expect(matchInOrder({ ...w, paths: w.paths.map((p) => `./${p}`) }, fp)).toBeUndefined();
    const each = matchEach({ ...w, paths: w.paths.map((p) => `./${p}`) }, fp)!;
    expect(each.changed).toEqual([]);
    expect(each.removed).toEqual([]);
  });

  test("of paths that clean up again or name whiteouts: never matched whole", () => {
    const d = "e".repeat(64);
    const written = (paths: string[]) => ({
      paths,
      types: paths.map(() => "0"),
      linkTargets: paths.map(() => undefined),
      digests: paths.map(() => d),
      offsets: [...paths.map((_, i) => i * 1024), paths.length * 1024],
    });
    for (const p of ["./x", "/x", "x/", ".", "d/.wh.x", ".wh.x", "a/.wh.b/c"]) {
      const table = FingerprintTable.of({ entries: { [p]: `0${d}` }, shadowed: [] })!;
      expect(matchInOrder(written([p]), table)).toBeUndefined();
    }
    const plain = FingerprintTable.of({ entries: { "a/b": `0${d}`, "a/.whx": `0${d}` }, shadowed: [] })!;
    expect(matchInOrder(written(["a/b", "a/.whx"]), plain)!.changed).toEqual([]);
  });

  test("are left out when not asked for, and of the written event", async () => {
    const events: unknown[] = [];
    const r = await writeLayer([entry("f")], store, { onProgress: (e) => events.push(e) });
    expect(r.entryDigests).toBeUndefined();
    const asked = await writeLayer([entry("f")], store, {
      entryDigests: true,
      onProgress: (e) => events.push(e),
    });
    expect(asked.entryDigests!.paths).toEqual(["f"]);
    expect(asked.digest).toBe(r.digest);
    expect(
      events
        .filter((e) => (e as { type: string }).type === "molt:layer:written")
        .every((e) => !("entryDigests" in (e as object))),
    ).toBe(true);
  });
});
