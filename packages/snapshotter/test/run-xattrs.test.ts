import { createReadStream } from "node:fs";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BlobStore, writeLayer } from "@molt/layer-writer";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { requireBinary } from "../../../test/harness/registry.js";
import { createSnapshotter, extract } from "../src/index.js";
import { exec, sh } from "./exec.js";
import { expectBaselineMatchesDisk } from "./tree.js";

/*
 * A RUN's layer records only `security.capability` of the files it changed, as BuildKit's do:
 * its layer tar is written by containerd's archive ChangeWriter, which reads that one xattr of
 * each changed file (`SCHILY.xattr.security.capability`) and no other. `user.*` set by the step
 * stays on disk for the next steps, and a base layer's xattrs are still extracted onto disk.
 * The step's files get their attributes from the host's setcap/setfattr; the written layer is
 * read back with GNU tar, the capability also by extracting it and asking getcap.
 */
const tmp = await mkdtemp(join(tmpdir(), "molt-snap-run-xattrs-"));
const baseTar = join(tmp, "base.tar");

beforeAll(async () => {
  for (const b of ["tar", "getfattr", "setfattr", "setcap", "getcap"])
    requireBinary(b, "see .ci/setup APT_PACKAGES");
  const b = join(tmp, "base");
  await sh(`mkdir -p ${b}/bin && cd ${b}
    printf o > old; setfattr -n user.base -v b old; printf t > bin/keep
    find . -exec touch -h -d '2020-01-02 03:04:05' {} +`);
  await exec("tar", [
    "--format=pax",
    "--xattrs",
    "--xattrs-include=*",
    "--numeric-owner",
    "-cf",
    baseTar,
    "-C",
    b,
    ".",
  ]);
});
afterAll(() => rm(tmp, { recursive: true, force: true }));

/** `getfattr -d -m -` of a path: `name="value"` lines, sorted, without overlayfs' own `trusted.overlay.*`. */
async function xattrsOnDisk(path: string): Promise<string[]> {
  const r = await exec("getfattr", ["-h", "-d", "-m", "-", "--absolute-names", path]);
  return r.stdout
    .split("\n")
    .filter((l) => l !== "" && !l.startsWith("#") && !l.startsWith("trusted.overlay."))
    .sort();
}

/** GNU tar's verbose listing: path → the xattr names (with their lengths) it lists for it. */
async function tarXattrs(tar: string): Promise<Map<string, string[]>> {
  const r = await exec("tar", ["--xattrs", "--xattrs-include=*", "-tvvf", tar]);
  const out = new Map<string, string[]>();
  let cur: string[] | undefined;
  for (const l of r.stdout.split("\n")) {
    const m = /^ {2}x: (\d+) (.+)$/.exec(l);
    if (m) cur!.push(`${m[2]} (${m[1]} bytes)`);
    else if (l !== "") {
      cur = [];
      out.set(l.split(" ").at(-1)!.replace(/\/$/, ""), cur);
    }
  }
  return out;
}

describe.each(["walk", "overlay"] as const)("%s mode: a RUN layer's xattrs", (mode) => {
  test("security.capability is written, user.* is not; disk keeps both", async () => {
    const root = join(tmp, `${mode}-root`);
    const baseline = await extract([{ open: () => createReadStream(baseTar) }], root);
    // Extracting a base layer still puts its xattrs on disk.
    expect(await xattrsOnDisk(join(root, "old"))).toEqual(['user.base="b"']);

    const snap = await createSnapshotter(root, { mode, baseline, workDir: join(tmp, `${mode}-work`) });
    expect(snap.mode).toBe(mode);
    const step = await snap.begin();
    await sh(`cd ${step.rootfs}
      printf tool > bin/tool; setcap cap_net_bind_service+ep bin/tool; setfattr -n user.note -v hi bin/tool
      printf n > note.txt; setfattr -n user.note -v hi note.txt
      setfattr -n user.note -v hi old`);
    const changes = await step.finish();

    const store = await BlobStore.open(join(tmp, `${mode}-blobs`));
    const layer = await writeLayer(changes, store, { compression: "none" });
    const tar = store.path(layer.digest);
    const listed = await tarXattrs(tar);
    expect([...listed.keys()].sort()).toEqual(["bin", "bin/tool", "note.txt", "old"]);
    expect(listed.get("bin/tool")).toEqual(["security.capability (20 bytes)"]);
    expect(listed.get("note.txt")).toEqual([]);
    expect(listed.get("old")).toEqual([]); // neither the step's user.note nor the base's user.base
    expect(listed.get("bin")).toEqual([]);

    // The capability in the layer is the one setcap set: extract it and ask getcap.
    const out = join(tmp, `${mode}-out`);
    await mkdir(out);
    await exec("tar", ["--xattrs", "--xattrs-include=*", "-xpf", tar, "-C", out]);
    expect((await exec("getcap", [join(out, "bin/tool")])).stdout).toContain("cap_net_bind_service=ep");
    expect(await xattrsOnDisk(join(out, "note.txt"))).toEqual([]);

    // The stage root (what the next step sees) keeps every xattr, and so does the baseline.
    const onDisk = await xattrsOnDisk(join(snap.root, "bin/tool"));
    expect(onDisk.filter((l) => l.startsWith("user."))).toEqual(['user.note="hi"']);
    expect(onDisk.some((l) => l.startsWith("security.capability="))).toBe(true);
    expect(await xattrsOnDisk(join(snap.root, "old"))).toEqual(['user.base="b"', 'user.note="hi"']);
    expect(snap.baseline.get("note.txt")?.xattrs?.["user.note"]?.toString()).toBe("hi");
    await expectBaselineMatchesDisk(snap.baseline, snap.root);
    // Nothing changed since: the next step reports nothing.
    const again = await snap.begin();
    expect(await again.finish()).toEqual([]);
    await snap.close();
  });
});
