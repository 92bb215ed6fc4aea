import { spawnSync } from "node:child_process";
import { createReadStream } from "node:fs";
import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Baseline, extract } from "@molt/snapshotter";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { cloneRoot, SharedRoots } from "../src/stage/shared-roots.js";

const root = process.getuid?.() === 0;
let dir: string;
let layer: string;

const sh = (cmd: string) => {
  const r = spawnSync("bash", ["-euo", "pipefail", "-c", cmd], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`${cmd}: ${r.stderr}`);
  return r.stdout;
};

/** Everything `find` and `getfattr` tell of a tree (inode numbers, ctimes and atimes aside: no layer has those), sorted. */
const describeTree = (d: string) =>
  sh(
    `cd ${d} && find . -printf '%P|%y|%m|%U|%G|%s|%T@|%l|%n\\n' | sort && getfattr -R -h -d -m - --absolute-names . 2>/dev/null | sort`,
  );

/** Baseline entries without what a copy changes (inode, ctime). */
const comparable = (b: Baseline) =>
  [...b.entries()]
    .map(([p, e]) => {
      const { ino: _i, ctimeNs: _c, ctimeMs: _m, ...rest } = e;
      return [p, rest] as const;
    })
    .sort((x, y) => (x[0] < y[0] ? -1 : 1));

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "molt-test-shared-roots-"));
  // A layer with every kind of entry a copy could get wrong: modes with setuid and sticky bits,
  // other owners, a hardlink pair, symlinks (one dangling), an empty directory, a FIFO, a device,
  // extended attributes, and nanosecond times.
  const src = join(dir, "src");
  await mkdir(join(src, "etc/deep/er"), { recursive: true });
  await mkdir(join(src, "empty"));
  await writeFile(join(src, "etc/passwd"), "root:x:0:0:root:/root:/bin/sh\n");
  await writeFile(join(src, "etc/deep/er/big"), Buffer.alloc(300_000, 7));
  await writeFile(join(src, "suid"), "#!/bin/sh\n");
  await symlink("etc/passwd", join(src, "link"));
  await symlink("/nowhere", join(src, "dangling"));
  sh(`cd ${src} && ln etc/passwd hard && chmod 1777 empty && mkfifo fifo`);
  if (root) sh(`cd ${src} && mknod null c 1 3 && chown 1234:5678 etc/deep suid && chown -h 42:43 link`);
  sh(`cd ${src} && chmod 4755 suid`);
  sh(`cd ${src} && setfattr -n user.molt -v hello etc/passwd || true`);
  sh(
    `cd ${src} && touch -h -d '2021-02-03 04:05:06.123456789' link && touch -d '2020-01-02 03:04:05.987654321' etc/passwd etc/deep/er empty .`,
  );
  layer = join(dir, "layer.tar");
  sh(`tar --xattrs --xattrs-include='*' --numeric-owner -C ${src} -cf ${layer} .`);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const extractInto = (to: string) => extract([{ open: () => createReadStream(layer) }], to);

describe("SharedRoots", () => {
  test("stages asking at once extract once: the others get an exact copy and their own baseline", async () => {
    const shared = new SharedRoots();
    let extractions = 0;
    const counted = (to: string) => {
      extractions++;
      return extractInto(to);
    };
    const roots = [0, 1, 2].map((i) => join(dir, `once-${i}`));
    const baselines = await Promise.all(roots.map((r) => shared.materialise("k", r, counted)));
    expect(extractions).toBe(1);
    // What the extraction alone gives, for reference.
    const alone = await extractInto(join(dir, "alone"));
    const want = describeTree(join(dir, "alone"));
    expect(want).toContain("suid|f|4755|");
    expect(want).toContain("hard|f|644|0|0|30|");
    for (const [i, r] of roots.entries()) {
      expect(describeTree(r)).toBe(want);
      expect(comparable(baselines[i]!)).toEqual(comparable(alone));
    }
    // Each baseline describes its own tree: inodes differ, and a change in one root is not in another.
    const ino = (b: Baseline) => b.get("etc/passwd")!.ino;
    expect(new Set(baselines.map(ino)).size).toBe(3);
    expect(baselines[1]!.get("hard")!.ino).toBe(ino(baselines[1]!));
    await writeFile(join(roots[0]!, "etc/passwd"), "changed\n");
    expect(describeTree(roots[1]!)).toBe(want);
  });

  test("a stage asking after the first went on extracts on its own", async () => {
    const shared = new SharedRoots();
    let extractions = 0;
    const counted = (to: string) => {
      extractions++;
      return extractInto(to);
    };
    await shared.materialise("k", join(dir, "late-0"), counted);
    await shared.materialise("k", join(dir, "late-1"), counted);
    expect(extractions).toBe(2);
  });

  test("when the first extraction fails, the others extract themselves (and fail with their own error)", async () => {
    const shared = new SharedRoots();
    const bad = (to: string) =>
      extract([{ open: () => createReadStream(join(dir, "missing.tar")) }], to).catch((e: Error) => {
        throw new Error(`own: ${to}: ${e.message.split("\n")[0]}`);
      });
    const results = await Promise.allSettled(
      [0, 1].map((i) => shared.materialise("k", join(dir, `bad-${i}`), bad)),
    );
    expect(results.map((r) => r.status)).toEqual(["rejected", "rejected"]);
    expect(String((results[1] as PromiseRejectedResult).reason)).toContain("bad-1");
  });
});

describe("cloneRoot", () => {
  test("refuses a copy that does not match the baseline", async () => {
    const from = join(dir, "ref");
    const baseline = await extractInto(from);
    const wrong = baseline.clone();
    wrong.set("etc/passwd", { ...wrong.get("etc/passwd")!, mtimeNs: 1n });
    await expect(cloneRoot(from, join(dir, "ref-copy"), wrong)).rejects.toThrow(
      /the copy differs: \/etc\/passwd: mtime/,
    );
    const fewer = baseline.clone();
    fewer.delete("empty");
    await expect(cloneRoot(from, join(dir, "ref-copy-2"), fewer)).rejects.toThrow(
      /\/empty is not in the extracted root/,
    );
  });

  test("an aborted signal stops it before copying", async () => {
    const from = join(dir, "ref2");
    const baseline = await extractInto(from);
    await expect(cloneRoot(from, join(dir, "ref2-copy"), baseline, AbortSignal.abort())).rejects.toThrow();
    expect(spawnSync("test", ["-e", join(dir, "ref2-copy")]).status).toBe(1);
  });
});
