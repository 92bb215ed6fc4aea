import { execFileSync } from "node:child_process";
import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, expect, test } from "vitest";
import { createSnapshotter, prepareSnapshotter, scanTree } from "../src/index.js";

/*
 * prepareSnapshotter: the helper shell and the overlay check made before the root exists (beside
 * its extraction), then taken by createSnapshotter, or discarded.
 */
const tmp = await mkdtemp(join(tmpdir(), "molt-snap-prepare-"));
afterAll(() => rm(tmp, { recursive: true, force: true }));
const isRoot = process.getuid?.() === 0;

/** Pids of this process's children that run `sh` (helpers; not the `ps` asking). */
function children(): number[] {
  const out = execFileSync("ps", ["-o", "pid=,comm=", "--ppid", String(process.pid)], { encoding: "utf8" });
  return out
    .split("\n")
    .map((l) => l.trim().split(/\s+/))
    .filter((f) => f[1] === "sh")
    .map((f) => Number(f[0]));
}

/** Whether process `pid` is alive. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

test.runIf(isRoot)(
  "a set-up prepared before the root exists serves the snapshotter: overlay mode, one work dir",
  async () => {
    const root = join(tmp, "a", "root");
    const workDir = join(tmp, "a", "snapshot");
    const prepared = prepareSnapshotter(root, { workDir });
    // The root is made only now, as an extraction would, while the set-up runs.
    await mkdir(join(root, "etc"), { recursive: true });
    await writeFile(join(root, "etc", "conf"), "x");
    const baseline = await scanTree(root);
    const snap = await createSnapshotter(root, { workDir, baseline, prepared });
    expect(snap.mode).toBe("overlay");
    // The prepared work dir is the snapshotter's: exactly one, the overlay probe's dir gone.
    const dirs = await readdir(workDir);
    expect(dirs).toHaveLength(1);
    expect(dirs[0]).toMatch(/^\.root\.molt-snapshot-/);
    expect(await readdir(join(workDir, dirs[0]!))).toEqual([]);
    const step = await snap.begin();
    await writeFile(join(step.rootfs, "etc", "new"), "y");
    const changes = await step.finish();
    expect(changes.map((c) => (c.kind === "add" ? `add ${c.entry.path}` : `${c.kind} ${c.path}`))).toEqual([
      "add etc",
      "add etc/new",
    ]);
    await snap.close();
    expect(await readdir(workDir)).toEqual([]);
    await expect(prepared.take()).rejects.toThrow(/already taken/);
  },
);

test.runIf(isRoot)("a discarded set-up leaves no work dir and no helper process", async () => {
  const root = join(tmp, "b", "root");
  const workDir = join(tmp, "b", "snapshot");
  const before = new Set(children());
  const prepared = prepareSnapshotter(root, { workDir });
  // Let the set-up finish (the overlay probe's dir is gone), then find its helper: the one new
  // child of this process (unshare, exec'ed into setpriv and then sh: the same pid).
  let helpers: number[] = [];
  for (let i = 0; i < 200; i++) {
    await new Promise((r) => setTimeout(r, 20));
    const dirs = await readdir(workDir).catch(() => []);
    if (dirs.length !== 1 || (await readdir(join(workDir, dirs[0]!))).length > 0) continue;
    helpers = children().filter((p) => !before.has(p));
    if (helpers.length > 0) break;
  }
  expect(helpers).toHaveLength(1);
  await prepared.discard();
  expect(await readdir(workDir)).toEqual([]);
  for (let i = 0; i < 100 && alive(helpers[0]!); i++) await new Promise((r) => setTimeout(r, 20));
  expect(alive(helpers[0]!)).toBe(false);
  // Discarding twice, or after the fact, is harmless.
  await prepared.discard();
});

test("walk mode prepares a work dir only", async () => {
  const root = join(tmp, "c", "root");
  const workDir = join(tmp, "c", "snapshot");
  const prepared = prepareSnapshotter(root, { workDir, mode: "walk" });
  await mkdir(root, { recursive: true });
  const snap = await createSnapshotter(root, {
    workDir,
    mode: "walk",
    baseline: await scanTree(root),
    prepared,
  });
  expect(snap.mode).toBe("walk");
  expect(await readdir(workDir)).toHaveLength(1);
  await snap.close();
  expect(await readdir(workDir)).toEqual([]);
});
