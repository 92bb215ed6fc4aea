import { lstatSync } from "node:fs";
import { chmod, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import * as tar from "tar-stream";
import { afterAll, describe, expect, test } from "vitest";
import { mknodScript } from "../src/devices.js";
import { extract, type LayerSource } from "../src/index.js";
import { exec } from "./exec.js";
import { describeTree, diffTrees, expectBaselineMatchesDisk } from "./tree.js";

/*
 * Device nodes and FIFOs are made together, one `sh` for all those queued until the tree is next
 * needed (issue 16). GNU tar extracting the same bytes is the oracle for the tree; a `mknod` on
 * PATH that logs its parent process tells how many processes made them.
 */
const tmp = await mkdtemp(join(tmpdir(), "molt-snap-devices-"));
afterAll(() => rm(tmp, { recursive: true, force: true }));
let n = 0;
const T = new Date("2001-02-03T04:05:06Z");

type E = Partial<tar.Header> & { name: string; body?: string };

function tarOf(entries: E[]): Promise<Buffer> {
  const pack = tar.pack();
  for (const { body, ...h } of entries) pack.entry({ type: "file", mode: 0o644, mtime: T, ...h }, body ?? "");
  pack.finalize();
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    pack.on("data", (b) => parts.push(b as Buffer));
    pack.on("end", () => resolve(Buffer.concat(parts)));
    pack.on("error", reject);
  });
}

const source = (bytes: Buffer): LayerSource => ({ open: () => Readable.from([bytes]) });

/** /dev as Debian's base has it: nodes between symlinks and directories, in name order. */
const DEV: E[] = [
  { name: "dev/", type: "directory", mode: 0o755 },
  { name: "dev/console", type: "character-device", mode: 0o600, devmajor: 5, devminor: 1 },
  { name: "dev/fd", type: "symlink", linkname: "/proc/self/fd" },
  { name: "dev/full", type: "character-device", mode: 0o666, devmajor: 1, devminor: 7 },
  { name: "dev/loop0", type: "block-device", mode: 0o660, devmajor: 7, devminor: 0, gid: 6 },
  { name: "dev/null", type: "character-device", mode: 0o666, devmajor: 1, devminor: 3 },
  { name: "dev/pipe", type: "fifo", mode: 0o620 },
  { name: "dev/pts/", type: "directory", mode: 0o755 },
  { name: "dev/shm/", type: "directory", mode: 0o1777 },
  { name: "dev/stdin", type: "symlink", linkname: "/proc/self/fd/0" },
  { name: "dev/tty", type: "character-device", mode: 0o666, devmajor: 5, devminor: 0 },
  { name: "dev/zero", type: "character-device", mode: 0o666, devmajor: 1, devminor: 5 },
  { name: "etc/hostname", body: "molt\n" },
];

/** Runs `fn` with PATH = a directory holding `sh` and, unless `mknod` is false, a logging `mknod`. */
async function withPath<R>(log: string, fn: () => Promise<R>, mknod = true): Promise<R> {
  const bin = join(tmp, `bin${n++}`);
  await mkdir(bin);
  await symlink("/bin/sh", join(bin, "sh"));
  if (mknod) {
    await writeFile(join(bin, "mknod"), `#!/bin/sh\necho "$PPID" >> ${log}\nexec /usr/bin/mknod "$@"\n`);
    await chmod(join(bin, "mknod"), 0o755);
  }
  const saved = process.env.PATH;
  process.env.PATH = bin;
  try {
    return await fn();
  } finally {
    process.env.PATH = saved;
  }
}

test("the script passes every path as an argument and every mode in octal", () => {
  expect(
    mknodScript([
      { path: "/r/dev/null", type: "char", mode: 0o666, major: 1, minor: 3 },
      { path: "/r/$(x)", type: "fifo", mode: 0o4620, major: 0, minor: 0 },
      { path: "/r/b", type: "block", mode: 0o660, major: 7, minor: 0 },
    ]),
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the shell's positional parameters
  ).toBe('mknod -m 666 "${1}" c 1 3 || :\nmknod -m 4620 "${2}" p || :\nmknod -m 660 "${3}" b 7 0 || :');
});

for (const threadAfter of [undefined, 0]) {
  describe(`device nodes${threadAfter === 0 ? " (every create on the writer thread)" : ""}`, () => {
    test("Debian's /dev: the same tree as GNU tar, every node made by one process", async () => {
      const bytes = await tarOf(DEV);
      const ours = join(tmp, `ours${n++}`);
      const log = join(tmp, `log${n++}`);
      const baseline = await withPath(log, () => extract([source(bytes)], ours, { threadAfter }));
      const ref = join(tmp, `gnu${n++}`);
      await mkdir(ref);
      await writeFile(`${ref}.tar`, bytes);
      await exec("tar", ["--numeric-owner", "-xpf", `${ref}.tar`, "-C", ref]);
      expect(
        diffTrees(await describeTree(ours, { mtime: true }), await describeTree(ref, { mtime: true })),
      ).toEqual([]);
      await expectBaselineMatchesDisk(baseline, ours);
      const parents = (await readFile(log, "utf8")).trim().split("\n");
      expect(parents).toHaveLength(7);
      expect(new Set(parents).size).toBe(1);
      expect(parents[0]).not.toBe(String(process.pid));
      const st = lstatSync(join(ours, "dev/loop0"));
      expect([st.isBlockDevice(), st.rdev, st.mode & 0o7777, st.gid]).toEqual([true, 7 * 256, 0o660, 6]);
      expect(lstatSync(join(ours, "dev/console")).mtimeMs).toBe(T.getTime());
    });

    test("a node replaced, hard-linked and whited out later is made before it is touched", async () => {
      const ours = join(tmp, `ours${n++}`);
      const l1 = await tarOf([
        ...DEV,
        { name: "dev/null", body: "now a file" },
        { name: "dev/zero2", type: "link", linkname: "dev/zero" },
        { name: "dev/tty/", type: "directory", mode: 0o700 },
      ]);
      const l2 = await tarOf([{ name: "dev/.wh.full" }, { name: "dev/.wh.pipe" }]);
      const baseline = await extract([source(l1), source(l2)], ours, { threadAfter });
      await expectBaselineMatchesDisk(baseline, ours);
      expect(await readFile(join(ours, "dev/null"), "utf8")).toBe("now a file");
      const zero = lstatSync(join(ours, "dev/zero"));
      expect([zero.isCharacterDevice(), zero.nlink, zero.ino]).toEqual([
        true,
        2,
        lstatSync(join(ours, "dev/zero2")).ino,
      ]);
      expect(lstatSync(join(ours, "dev/tty")).isDirectory()).toBe(true);
      expect(lstatSync(join(ours, "dev/full"), { throwIfNoEntry: false })).toBeUndefined();
      expect(lstatSync(join(ours, "dev/pipe"), { throwIfNoEntry: false })).toBeUndefined();
      expect(baseline.get("dev/full")).toBeUndefined();
    });

    test("without mknod the nodes are skipped, the rest extracted, a later entry at a node's path written", async () => {
      const ours = join(tmp, `ours${n++}`);
      const bytes = await tarOf([...DEV, { name: "dev/null", body: "a file" }]);
      const baseline = await withPath(
        join(tmp, "unused"),
        () => extract([source(bytes)], ours, { threadAfter }),
        false,
      );
      await expectBaselineMatchesDisk(baseline, ours);
      for (const d of ["console", "full", "loop0", "pipe", "tty", "zero"]) {
        expect(lstatSync(join(ours, "dev", d), { throwIfNoEntry: false })).toBeUndefined();
        expect(baseline.get(`dev/${d}`)).toBeUndefined();
      }
      expect(await readFile(join(ours, "dev/null"), "utf8")).toBe("a file");
      expect(await readFile(join(ours, "etc/hostname"), "utf8")).toBe("molt\n");
      expect(lstatSync(join(ours, "dev/fd")).isSymbolicLink()).toBe(true);
    });
  });
}
