import { statSync } from "node:fs";
import { chmod, mkdir, mkdtemp, readFile, rm, stat, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { Baseline, entryFromStat } from "../src/baseline.js";
import { overlayChanges } from "../src/overlay.js";
import { ShellHelper } from "../src/shell.js";

// The upper directory on tmpfs, the root under the temp dir: renames between them fail with
// EXDEV, which is what makes overlayChanges copy (as for a root that is itself an overlay).
const shm = "/dev/shm";
const crossDevice = (() => {
  try {
    return statSync(shm).dev !== statSync(tmpdir()).dev;
  } catch {
    return false;
  }
})();

describe.skipIf(!crossDevice)("overlayChanges across filesystems (cp -a instead of rename)", () => {
  const dirs: string[] = [];
  afterEach(async () => {
    for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
  });

  for (const via of ["the helper shell", "a direct spawn"] as const) {
    it(`moves a new file and a new directory into the root with their metadata, through ${via}`, async () => {
      const upper = await mkdtemp(join(shm, "molt-upper-"));
      const root = await mkdtemp(join(tmpdir(), "molt-root-"));
      dirs.push(upper, root);
      await writeFile(join(upper, "built"), "built\n");
      await chmod(join(upper, "built"), 0o640);
      await utimes(join(upper, "built"), 1_000_000, 1_000_000);
      await mkdir(join(upper, "d"));
      await writeFile(join(upper, "d", "f"), "f\n");
      const baseline = new Baseline();
      baseline.set("", entryFromStat(await stat(root, { bigint: true })));
      const helper = via === "the helper shell" ? new ShellHelper(false) : undefined;
      try {
        const changes = await overlayChanges(upper, root, baseline, new Set(), "", undefined, helper);
        expect(changes.map((c) => (c.kind === "add" ? c.entry.path : c.path)).sort()).toEqual([
          "built",
          "d",
          "d/f",
        ]);
      } finally {
        helper?.close();
      }
      expect(await readFile(join(root, "built"), "utf8")).toBe("built\n");
      expect(await readFile(join(root, "d", "f"), "utf8")).toBe("f\n");
      const st = await stat(join(root, "built"));
      expect(st.mode & 0o7777).toBe(0o640);
      expect(st.mtimeMs).toBe(1_000_000_000);
      // The originals are gone from the upper directory.
      await expect(stat(join(upper, "built"))).rejects.toThrow();
      expect(baseline.get("built")?.mode).toBe(0o640);
    });
  }
});
