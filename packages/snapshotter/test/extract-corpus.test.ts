import { createReadStream } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { requireBinary } from "../../../test/harness/registry.js";
import {
  extract,
  flatten,
  indexLayer,
  parseLayerIndex,
  RootIndex,
  serializeLayerIndex,
} from "../src/index.js";
import { exec as run } from "./exec.js";
import { indexDifferences } from "./index-compare.js";
import { layoutLayers } from "./layout.js";
import { describeTree, diffTrees, expectBaselineMatchesDisk } from "./tree.js";

/*
 * A corpus of layers made with real tools: layer 1 by `umoci repack` from a directory holding
 * every entry type, layers 2 and 3 by GNU tar (whiteouts, opaque markers, replacements), appended
 * with `umoci raw add-layer`. `umoci unpack` of the same image is the oracle.
 */
const tmp = await mkdtemp(join(tmpdir(), "molt-snap-corpus-"));
const layout = join(tmp, "layout");
const tars: string[] = [];
let oracle: Awaited<ReturnType<typeof describeTree>>;

const sh = (script: string) => run("sh", ["-euc", script]);

beforeAll(async () => {
  for (const b of ["umoci", "tar", "getfattr", "setcap", "zstd"])
    requireBinary(b, "see .ci/run APT_PACKAGES");
  await run("umoci", ["init", "--layout", layout]);
  await run("umoci", ["new", "--image", `${layout}:t`]);
  const bundle = join(tmp, "bundle");
  await run("umoci", ["unpack", "--image", `${layout}:t`, bundle]);
  const r = join(bundle, "rootfs");
  await sh(`cd ${r}
    mkdir -p sticky a/b d1/sub d2/keep dir-to-file/inner to-replace-parent real-dir etc
    printf one > a/f1; printf two > a/b/f2; printf three > d1/sub/f3; printf four > d2/keep/f4
    printf five > dir-to-file/inner/f5; printf six > to-replace; printf seven > etc/passwd
    ln -s a/f1 s; ln -s real-dir sym-to-dir; ln a/f1 h
    mkfifo p; mknod c c 1 3; mknod blk b 7 0
    printf suid > suid; chown 1000:1000 suid; chmod 4755 suid
    printf cap > cap; setcap cap_net_raw+ep cap
    printf x > xattr; setfattr -n user.molt -v 0x00ff01 xattr
    chmod 0700 d1; chown 1000:50 d2; chmod 1777 sticky a/b
    touch -h -d '2001-02-03 04:05:06' s; touch -d '2002-03-04 05:06:07' a/f1`);
  await run("umoci", ["repack", "--image", `${layout}:t`, bundle]);

  // Layer 2 (GNU tar): whiteouts, an opaque directory, type replacements.
  const l2 = join(tmp, "l2");
  await sh(`mkdir -p ${l2} && cd ${l2}
    mkdir -p a/b d2/fresh to-replace real-dir sym-to-dir
    : > a/b/.wh.f2; : > .wh.d1; : > d2/.wh..wh..opq; printf new > d2/fresh/n
    printf file-now > dir-to-file; printf inside > to-replace/x
    rmdir sym-to-dir; ln -s ../a sym-to-dir2; mkdir sym-to-dir; printf q > sym-to-dir/q
    printf r > real-dir/r`);
  tars.push(join(tmp, "l2.tar"));
  await run("tar", ["--format=pax", "--numeric-owner", "--sort=name", "-cf", tars[0]!, "-C", l2, "."]);

  // Layer 3: replace back, an opaque marker that comes AFTER a sibling of the same layer,
  // a whiteout of a hardlinked name, a symlink over a directory.
  const l3 = join(tmp, "l3");
  await sh(`mkdir -p ${l3} && cd ${l3}
    mkdir -p d2/later-dir a
    printf back > to-replace; printf l > d2/later; printf ld > d2/later-dir/x
    : > d2/.wh..wh..opq; : > .wh.h; ln -s /etc real-dir`);
  tars.push(join(tmp, "l3.tar"));
  await run("tar", [
    "--format=pax",
    "--numeric-owner",
    "--no-recursion",
    "-cf",
    tars[1]!,
    "-C",
    l3,
    "to-replace",
    "d2",
    "d2/later",
    "d2/later-dir",
    "d2/later-dir/x",
    "d2/.wh..wh..opq",
    ".wh.h",
    "real-dir",
  ]);
  for (const t of tars) await run("umoci", ["raw", "add-layer", "--image", `${layout}:t`, t]);
  const ob = join(tmp, "oracle");
  await run("umoci", ["unpack", "--image", `${layout}:t`, ob]);
  oracle = await describeTree(join(ob, "rootfs"), { mtime: true });
}, 120_000);

afterAll(() => rm(tmp, { recursive: true, force: true }));

describe("extract against umoci unpack", () => {
  test("the oracle holds what the corpus meant (hand-written expectations)", () => {
    expect(oracle.get("a/b/f2")).toBeUndefined();
    expect(oracle.get("d1")).toBeUndefined();
    expect(oracle.get("d2/keep")).toBeUndefined();
    expect(oracle.get("d2/fresh")).toBeUndefined(); // hidden by layer 3's opaque marker
    expect(oracle.get("d2/later")?.type).toBe("f");
    expect(oracle.get("d2/later-dir/x")?.type).toBe("f");
    expect(oracle.get("dir-to-file")?.type).toBe("f");
    expect(oracle.get("dir-to-file/inner")).toBeUndefined();
    expect(oracle.get("to-replace")?.type).toBe("f");
    expect(oracle.get("sym-to-dir")?.type).toBe("d");
    expect(oracle.get("real-dir")).toMatchObject({ type: "l", link: "/etc" });
    expect(oracle.get("h")).toBeUndefined();
    expect(oracle.get("suid")).toMatchObject({ mode: "4755", uid: "1000", gid: "1000" });
    expect(oracle.get("cap")?.xattrs).toContain("security.capability=0x");
    expect(oracle.get("xattr")?.xattrs).toBe("user.molt=0x00ff01;");
    expect(oracle.get("c")).toMatchObject({ type: "c", rdev: "1:3" });
    expect(oracle.get("p")?.type).toBe("p");
    expect(oracle.get("sticky")?.mode).toBe("1777");
    expect(oracle.get("a/b")?.mode).toBe("755"); // layer 2 lists a/b again with its own mode
  });

  test("gzip layers from the layout give the same tree", async () => {
    const root = join(tmp, "ours-gzip");
    const events: string[] = [];
    const baseline = await extract(await layoutLayers(layout, "t"), root, {
      onProgress: (e) => events.push(`${e.type}:${e.index}`),
    });
    expect(diffTrees(await describeTree(root, { mtime: true }), oracle)).toEqual([]);
    expect(events).toEqual([
      "molt:snapshot:extract-start:0",
      "molt:snapshot:extract-done:0",
      "molt:snapshot:extract-start:1",
      "molt:snapshot:extract-done:1",
      "molt:snapshot:extract-start:2",
      "molt:snapshot:extract-done:2",
    ]);
    await expectBaselineMatchesDisk(baseline, root);
  });

  test("plain and zstd layers (detected by content) give the same tree", async () => {
    const layers = await layoutLayers(layout, "t");
    const first = layers[0]!;
    await run("zstd", ["-q", "-f", tars[0]!, "-o", `${tars[0]}.zst`]);
    const root = join(tmp, "ours-mixed");
    await flatten(
      [first, { open: () => createReadStream(`${tars[0]}.zst`) }, { open: () => createReadStream(tars[1]!) }],
      root,
    );
    expect(diffTrees(await describeTree(root, { mtime: true }), oracle)).toEqual([]);
  });

  test("a wrong layer digest is reported", async () => {
    const [first] = await layoutLayers(layout, "t");
    await expect(
      extract([{ ...first!, digest: `sha256:${"0".repeat(64)}` }], join(tmp, "bad-digest")),
    ).rejects.toMatchObject({ code: "MOLT_DIGEST_MISMATCH" });
  });

  test("a gzip layer read from its file is checked like a stream", async () => {
    const [first] = await layoutLayers(layout, "t");
    // the right digest: the same tree as when the bytes come through a stream
    const viaFile = join(tmp, "via-file");
    await extract([first!], viaFile);
    const bytes = await readFile(join(layout, "blobs", ...first!.digest!.split(":")));
    const viaStream = join(tmp, "via-stream");
    await extract([{ open: () => Readable.from([bytes]), digest: first!.digest }], viaStream);
    expect(
      diffTrees(await describeTree(viaFile, { mtime: true }), await describeTree(viaStream, { mtime: true })),
    ).toEqual([]);
    // a truncated file fails (the decompressor's error), it does not end early in silence
    const cut = join(tmp, "cut.tar.gz");
    await writeFile(cut, bytes.subarray(0, Math.floor(bytes.length / 2)));
    await expect(extract([{ open: () => createReadStream(cut) }], join(tmp, "cut"))).rejects.toMatchObject({
      code: "MOLT_EXTRACT_FAILED",
    });
  });

  test("flatten refuses a non-empty directory", async () => {
    const dir = join(tmp, "nonempty");
    await mkdir(dir);
    await writeFile(join(dir, "x"), "");
    await expect(flatten([], dir)).rejects.toMatchObject({ code: "MOLT_EXTRACT_FAILED" });
    expect(await readFile(join(dir, "x"), "utf8")).toBe("");
  });

  test("the layer index (no extraction) says what extraction makes: every path, type, mode, owner, link, size, time", async () => {
    const layers = await layoutLayers(layout, "t");
    const baseline = await extract(layers, join(tmp, "ours-for-index"));
    const index = new RootIndex();
    for (const l of await layoutLayers(layout, "t")) {
      const li = await indexLayer(l, { keepContent: (p) => p === "etc/passwd" });
      // stored and read back, as a cache does
      index.apply(parseLayerIndex(serializeLayerIndex(li)));
    }
    expect(indexDifferences(baseline, index)).toEqual([]);
    expect(index.get("etc/passwd")?.content?.toString()).toBe("seven");
    expect(index.get("a/f1")?.content).toBeUndefined();
    // hand-written: what the corpus's whiteouts and opaque markers hide
    expect(index.get("d2/fresh")).toBeUndefined();
    expect(index.get("a/b/f2")).toBeUndefined();
    expect(index.get("real-dir")).toMatchObject({ type: "symlink", linkTarget: "/etc" });
    expect(index.get("sticky")?.mode).toBe(0o1777);
    expect(index.get("suid")).toMatchObject({ type: "file", mode: 0o4755, uid: 1000, gid: 1000 });
  });
});
