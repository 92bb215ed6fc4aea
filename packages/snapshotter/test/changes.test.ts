import { createReadStream } from "node:fs";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Change } from "@molt/oci";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { requireBinary } from "../../../test/harness/registry.js";
import { createSnapshotter, extract, type Snapshotter } from "../src/index.js";
import { exec, sh } from "./exec.js";
import { expectBaselineMatchesDisk } from "./tree.js";

/*
 * The change-detection cases of the issue, each run as the same shell script on both modes.
 * Expectations are written by hand: what a layer for that step must hold.
 */
const tmp = await mkdtemp(join(tmpdir(), "molt-snap-changes-"));
const baseTar = join(tmp, "base.tar");
const T0 = "2020-01-02 03:04:05";

beforeAll(async () => {
  for (const b of ["tar", "getfattr", "setfattr"]) requireBinary(b, "see .ci/run APT_PACKAGES");
  const b = join(tmp, "base");
  await sh(`mkdir -p ${b} && cd ${b}
    mkdir -p etc bin data tree/a/b swap/inner keep again/sub
    printf abc > etc/conf; printf abc > etc/mod; printf t > bin/tool; printf o > bin/owned
    printf d > data/del; printf k > data/keep; printf 1 > tree/a/b/f; printf 2 > tree/a/g; printf s > swap/inner/s
    printf o > orig; printf x > xfile; printf old > again/old; printf s > again/sub/s
    chmod 755 bin/tool; find . -exec touch -h -d '${T0}' {} +`);
  await exec("tar", ["--format=pax", "--numeric-owner", "-cf", baseTar, "-C", b, "."]);
});
afterAll(() => rm(tmp, { recursive: true, force: true }));

/** A change as one comparable line, with file content read back through `source`. */
async function line(c: Change): Promise<string> {
  if (c.kind !== "add") return `${c.kind} ${c.path}`;
  const e = c.entry;
  let s = `add ${e.type} ${e.path} ${e.mode.toString(8)} ${e.uid}:${e.gid}`;
  if (e.type === "file") s += ` "${await readFile(e.source!, "utf8")}"`;
  if (e.linkTarget !== undefined) s += ` -> ${e.linkTarget}`;
  for (const [k, v] of Object.entries(e.xattrs ?? {})) s += ` ${k}=${v.toString()}`;
  return s;
}

let n = 0;
async function runStep(
  mode: "walk" | "overlay",
  script: string,
): Promise<{ lines: string[]; snap: Snapshotter }> {
  const root = join(tmp, `${mode}-${n++}`);
  const baseline = await extract([{ open: () => createReadStream(baseTar) }], root);
  const snap = await createSnapshotter(root, { mode, baseline, workDir: join(tmp, `work-${n}`) });
  expect(snap.mode).toBe(mode);
  const step = await snap.begin();
  await sh(`cd ${step.rootfs}\n${script}`);
  const changes = await step.finish();
  const lines: string[] = [];
  for (const c of changes) lines.push(await line(c));
  await expectBaselineMatchesDisk(snap.baseline, snap.root);
  // Nothing changed since: the next step reports nothing.
  const again = await snap.begin();
  expect(await again.finish()).toEqual([]);
  return { lines, snap };
}

const cases: Array<[string, string, string[]]> = [
  ["create a file", "printf hi > etc/new", ["add directory etc 755 0:0", 'add file etc/new 644 0:0 "hi"']],
  [
    "modify in place with the same size and mtime",
    `printf xyz > etc/mod; touch -d '${T0}' etc/mod`,
    ["add directory etc 755 0:0", 'add file etc/mod 644 0:0 "xyz"'],
  ],
  ["chmod only", "chmod 700 bin/tool", ["add directory bin 755 0:0", 'add file bin/tool 700 0:0 "t"']],
  [
    "chown only",
    "chown 1000:50 bin/owned",
    ["add directory bin 755 0:0", 'add file bin/owned 644 1000:50 "o"'],
  ],
  ["delete a file", "rm data/del", ["add directory data 755 0:0", "delete data/del"]],
  ["delete a directory tree (one deletion)", "rm -rf tree", ["delete tree"]],
  [
    "replace a directory with a symlink",
    "rm -rf swap; ln -s /etc swap",
    ["add symlink swap 777 0:0 -> /etc"],
  ],
  [
    "add a hardlink",
    "ln orig orig-link",
    ['add file orig 644 0:0 "o"', "add hardlink orig-link 644 0:0 -> orig"],
  ],
  // Still a change, but its layer entry carries no user.* (only security.capability, as BuildKit's).
  ["change an xattr", "setfattr -n user.k -v v xfile", ['add file xfile 644 0:0 "x"']],
  [
    "replace a directory by a new one (hidden children become deletions)",
    "rm -rf again; mkdir -p again/sub; printf n > again/new",
    [
      "add directory again 755 0:0",
      'add file again/new 644 0:0 "n"',
      "delete again/old",
      "add directory again/sub 755 0:0",
      "delete again/sub/s",
    ],
  ],
];

describe.each(["walk", "overlay"] as const)("%s mode", (mode) => {
  test.each(cases)("%s", async (_name, script, expected) => {
    const { lines, snap } = await runStep(mode, script);
    expect(lines).toEqual(expected);
    await snap.close();
  });
});

describe("both modes", () => {
  test("a combined script gives the same change set on walk and overlay", async () => {
    const script = cases.map(([, s]) => s).join("\n");
    const walk = await runStep("walk", script);
    const overlay = await runStep("overlay", script);
    expect(overlay.lines).toEqual(walk.lines);
    expect(walk.lines).toContain("delete tree");
    await walk.snap.close();
    await overlay.snap.close();
  });

  test("ignored paths (defaults, caller's, VOLUME added later, mounts below the root) are not reported", async () => {
    for (const mode of ["walk", "overlay"] as const) {
      const root = join(tmp, `ign-${mode}`);
      const baseline = await extract([{ open: () => createReadStream(baseTar) }], root);
      const snap = await createSnapshotter(root, {
        mode,
        baseline,
        ignore: ["/cache"],
        workDir: join(tmp, `wi-${mode}`),
      });
      snap.addIgnored(["/vol"]);
      const step = await snap.begin();
      await sh(`cd ${step.rootfs}; mkdir -p proc/1 dev cache vol mnt; printf x > proc/1/x; printf y > dev/y
        printf c > cache/c; printf v > vol/v; printf ok > etc/ok`);
      const mnt = join(root, "mnt");
      if (mode === "walk") await exec("mount", ["-t", "tmpfs", "tmpfs", mnt]);
      try {
        if (mode === "walk") await sh(`printf m > ${mnt}/m`);
        const lines = await Promise.all((await step.finish()).map(line));
        expect(lines).toEqual(
          mode === "walk"
            ? ["add directory etc 755 0:0", 'add file etc/ok 644 0:0 "ok"'] // mnt is a mount point: ignored
            : ["add directory etc 755 0:0", 'add file etc/ok 644 0:0 "ok"', "add directory mnt 755 0:0"],
        );
      } finally {
        if (mode === "walk") await exec("umount", [mnt]);
      }
      await snap.close();
    }
  });

  test("overlay falls back to walk where it cannot mount (auto) and fails loudly when forced", async () => {
    const root = join(tmp, "fallback");
    const baseline = await extract([{ open: () => createReadStream(baseTar) }], root);
    const bad = join(tmp, "work,with,commas"); // overlayfs cannot take these paths: mount impossible
    await mkdir(bad);
    await writeFile(join(bad, "users-file"), "mine");
    const snap = await createSnapshotter(root, { baseline, workDir: bad });
    expect(snap.mode).toBe("walk");
    await snap.close();
    expect(await readdir(bad)).toEqual(["users-file"]); // close() removed only its own directory
    await expect(createSnapshotter(root, { mode: "overlay", baseline, workDir: bad })).rejects.toMatchObject({
      code: "MOLT_SNAPSHOT_FAILED",
    });
  });

  test("a snapshotter without a baseline scans the root once, and aborting an overlay step discards it", async () => {
    const root = join(tmp, "noscan");
    await extract([{ open: () => createReadStream(baseTar) }], root);
    const snap = await createSnapshotter(root, { mode: "overlay", workDir: join(tmp, "w-noscan") });
    const s1 = await snap.begin();
    await sh(`printf gone > ${s1.rootfs}/etc/aborted`);
    await expect(snap.begin()).rejects.toMatchObject({ code: "MOLT_SNAPSHOT_FAILED" });
    await s1.abort();
    const s2 = await snap.begin();
    await sh(`rm ${s2.rootfs}/data/del`);
    expect(await Promise.all((await s2.finish()).map(line))).toEqual([
      "add directory data 755 0:0",
      "delete data/del",
    ]);
    await snap.close();
    await expect(readFile(join(root, "etc", "aborted"))).rejects.toMatchObject({ code: "ENOENT" });
  });
});
