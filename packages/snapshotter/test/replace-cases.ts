import { createReadStream } from "node:fs";
import { cp, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Change } from "@molt/oci";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { exec, sh } from "./exec.js";

/*
 * Replace cases (file ↔ directory ↔ symlink, a directory replaced by a directory) for both
 * snapshot modes. Each case runs a script in a step and checks two things against independent
 * truth: (1) the root after the step equals the same script run on a plain copy of the base
 * (the kernel's answer, no overlay involved); (2) the change set, applied to the base the way
 * an OCI image applier reads a layer (a deletion removes the path and everything below it, an
 * addition writes the entry), gives that same tree. A case where a hidden child survives in
 * the layer fails (2) even when the root looks right.
 */

interface Rec {
  type: string;
  mode: string;
  owner: string;
  content: string;
}
type Tree = Map<string, Rec>;

const T0 = "2020-01-02 03:04:05";

/** `find` and the file bytes describe a tree (no getfattr: these tests run without it too). */
async function describe_(root: string): Promise<Tree> {
  const out = await exec("find", [root, "-mindepth", "1", "-printf", "%P\\0%y\\0%m\\0%U:%G\\0%l\\0"]);
  const f = out.stdout.split("\0");
  const t: Tree = new Map();
  for (let i = 0; i + 4 < f.length; i += 5) {
    const [p, y, m, o, l] = f.slice(i, i + 5) as string[];
    const content = y === "f" ? await readFile(join(root, p!), "utf8") : y === "l" ? `-> ${l}` : "";
    t.set(p!, { type: y!, mode: m!, owner: o!, content });
  }
  return t;
}

/** Applies a change set to a tree description as a layer applier would. */
async function applyChanges(base: Tree, changes: Change[]): Promise<Tree> {
  const t: Tree = new Map(base);
  const types: Record<string, string> = { file: "f", directory: "d", symlink: "l", hardlink: "f" };
  for (const c of changes) {
    if (c.kind === "add") {
      const e = c.entry;
      // An entry replacing a non-directory (or a directory by a non-directory) replaces the subtree.
      const old = t.get(e.path);
      if (old && (old.type !== "d" || e.type !== "directory")) {
        for (const k of [...t.keys()]) if (k === e.path || k.startsWith(`${e.path}/`)) t.delete(k);
      }
      let content = "";
      if (e.type === "file") content = await readFile(e.source!, "utf8");
      else if (e.type === "symlink") content = `-> ${e.linkTarget}`;
      else if (e.type === "hardlink") content = t.get(e.linkTarget!)?.content ?? "<dangling hardlink>";
      t.set(e.path, {
        type: types[e.type] ?? e.type,
        mode: e.type === "symlink" ? "777" : e.mode.toString(8),
        owner: `${e.uid}:${e.gid}`,
        content,
      });
    } else {
      for (const k of [...t.keys()]) if (k === c.path || k.startsWith(`${c.path}/`)) t.delete(k);
    }
  }
  return t;
}

/**
 * [name, script run in the root, paths the layer must delete explicitly]. A directory replaced
 * by a non-directory needs no deletions below it: the applier replaces the whole path.
 */
export const REPLACE_CASES: Array<[string, string, string[]]> = [
  [
    "a directory deleted and recreated in one step (issue 14 bug 1)",
    "rm -rf opt/a/b && mkdir opt/a/b && echo 3 > opt/a/b/new",
    ["opt/a/b/f"],
  ],
  ["a directory replaced by an empty one", "rm -rf e && mkdir e", ["e/empty", "e/file"]],
  [
    "a directory replaced by one with a same-named subdirectory",
    "rm -rf r && mkdir -p r/d && printf n > r/d/y",
    ["r/keep", "r/d/x"],
  ],
  ["a directory replaced by one re-creating its file", "rm -rf s && mkdir s && printf new > s/f", []],
  ["a deep directory replaced", "rm -rf deep/a && mkdir -p deep/a/b/c", ["deep/a/b/c/old", "deep/a/b/old2"]],
  ["a file replaced by a directory", "rm f1 && mkdir f1 && printf n > f1/x", []],
  ["a directory replaced by a file", "rm -rf d1 && printf n > d1", []],
  ["a directory replaced by a symlink", "rm -rf d2 && ln -s /etc d2", []],
  ["a symlink replaced by a directory", "rm l1 && mkdir l1 && printf n > l1/x", []],
  ["a symlink replaced by a file", "rm l2 && printf n > l2", []],
  ["a file replaced by a symlink", "rm f2 && ln -s f1 f2", []],
  ["a file replaced by a new file", "rm g && printf new > g", []],
  ["a directory renamed", "mv m m2", ["m/x"]],
  ["a directory replaced by a renamed one", "rm -rf n && mv m n", ["n/old", "m"]],
  [
    "a directory emptied and refilled (no replace)",
    "rm -rf keep/* && printf n > keep/new",
    ["keep/old", "keep/sub"],
  ],
];

/** Registers the replace cases for both modes; `label` names the host-tool situation. */
export function replaceSuite(
  label: string,
  snapshotter: typeof import("../src/index.js"),
  opts: { modes?: Array<"walk" | "overlay"> } = {},
): void {
  const { createSnapshotter, extract } = snapshotter;
  let tmp = "";
  let baseDir = "";
  let baseTar = "";
  let baseTree: Tree = new Map();
  beforeAll(async () => {
    tmp = await mkdtemp(join(tmpdir(), "molt-snap-replace-"));
    baseDir = join(tmp, "base");
    baseTar = join(tmp, "base.tar");
    await sh(`mkdir -p ${baseDir} && cd ${baseDir}
      mkdir -p opt/a/b e/empty r/d s deep/a/b/c d1/sub d2 m n keep/sub etc
      echo 1 > opt/a/b/f; printf f > e/file; printf k > r/keep; printf x > r/d/x; printf old > s/f
      printf o > deep/a/b/c/old; printf o > deep/a/b/old2; printf a > d1/a; printf b > d1/sub/b
      printf a > d2/a; printf x > m/x; printf o > n/old; printf o > keep/old
      printf 1 > f1; printf 2 > f2; printf g > g; ln -s f1 l1; ln -s d1 l2
      find . -exec touch -h -d '${T0}' {} +`);
    await exec("tar", ["--format=pax", "--numeric-owner", "-cf", baseTar, "-C", baseDir, "."]);
    baseTree = await describe_(baseDir);
  });
  afterAll(() => rm(tmp, { recursive: true, force: true }));

  let n = 0;
  for (const mode of opts.modes ?? (["walk", "overlay"] as const)) {
    describe(`${mode} mode, ${label}`, () => {
      test.each(REPLACE_CASES)("%s", async (_name, script, gone) => {
        const k = n++;
        // The kernel's answer: the script on a plain copy of the base.
        const plain = join(tmp, `plain-${mode}-${k}`);
        await cp(baseDir, plain, { recursive: true, verbatimSymlinks: true });
        await sh(`cd ${plain}\n${script}`);
        const want = await describe_(plain);
        for (const p of gone) expect(want.has(p), `${p} in the plain run`).toBe(false);

        const root = join(tmp, `${mode}-${k}`);
        const baseline = await extract([{ open: () => createReadStream(baseTar) }], root);
        const snap = await createSnapshotter(root, { mode, baseline, workDir: join(tmp, `work-${k}`) });
        try {
          expect(snap.mode).toBe(mode);
          const step = await snap.begin();
          await sh(`cd ${step.rootfs}\n${script}`);
          const changes = await step.finish();
          // (times are not compared: directory mtimes move with every change)
          expect(await applyChanges(baseTree, changes)).toEqual(want);
          expect(await describe_(root)).toEqual(want);
          for (const p of gone) {
            expect(
              changes.some((c) => c.kind === "delete" && (c.path === p || p.startsWith(`${c.path}/`))),
              `a deletion covers ${p}`,
            ).toBe(true);
          }
          // The next step sees the replaced tree and reports nothing more.
          const again = await snap.begin();
          expect(await again.finish()).toEqual([]);
        } finally {
          await snap.close();
        }
      });
    });
  }
}
