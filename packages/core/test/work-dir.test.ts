import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, test } from "vitest";
import { removeWorkDir } from "../src/stage/work-dir.js";

const made: string[] = [];
afterEach(async () => {
  for (const d of made.splice(0)) await rm(d, { recursive: true, force: true });
});
async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), "molt-test-workdir-"));
  made.push(d);
  return d;
}

describe("removeWorkDir", () => {
  test("removes a tree of directories, files and symlinks", async () => {
    const dir = join(await tempDir(), "work");
    for (let d = 0; d < 20; d++) {
      await mkdir(join(dir, "root", `d${d}`), { recursive: true });
      for (let f = 0; f < 50; f++) await writeFile(join(dir, "root", `d${d}`, `f${f}`), `${f}\n`);
    }
    spawnSync("ln", ["-s", "/etc", join(dir, "root", "link")]);
    await removeWorkDir(dir);
    expect(existsSync(dir)).toBe(false);
    expect(existsSync("/etc/passwd")).toBe(true);
  });

  test("a missing dir is no error", async () => {
    await removeWorkDir(join(await tempDir(), "never-made"));
  });

  test.skipIf(process.getuid?.() !== 0)(
    "leaves a dir with a mount below it whole (a bind mount of the same filesystem too)",
    async () => {
      const base = await tempDir();
      const outside = join(base, "outside");
      await mkdir(outside);
      await writeFile(join(outside, "keep"), "precious\n");
      const dir = join(base, "work");
      const target = join(dir, "stage-0", "mnt");
      await mkdir(target, { recursive: true });
      expect(spawnSync("mount", ["--bind", outside, target]).status).toBe(0);
      try {
        await removeWorkDir(dir);
        expect(await readFile(join(outside, "keep"), "utf8")).toBe("precious\n");
        expect(existsSync(join(dir, "stage-0"))).toBe(true);
      } finally {
        spawnSync("umount", ["-l", target]);
      }
    },
  );
});
