import { execFileSync } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chooseScratchParent, isWritableTmpfs, runScratchParent } from "../src/runner/scratch-dir.js";

/** The filesystem type of `dir` as coreutils' `stat -f` names it (the oracle, not our code). */
const fsType = (dir: string) => execFileSync("stat", ["-f", "-c", "%T", dir], { encoding: "utf8" }).trim();

let disk: string;
beforeAll(async () => {
  disk = await mkdtemp(join(tmpdir(), "molt-scratch-test-"));
});
afterAll(async () => {
  await rm(disk, { recursive: true, force: true });
});

describe("per-RUN scratch parent", () => {
  it("tells a tmpfs from other filesystems as stat -f does", () => {
    for (const dir of ["/dev/shm", "/proc", "/", disk]) {
      expect([dir, isWritableTmpfs(dir)]).toEqual([dir, fsType(dir) === "tmpfs"]);
    }
    expect(isWritableTmpfs(join(disk, "missing"))).toBe(false);
  });

  it.skipIf(fsType("/dev/shm") !== "tmpfs" || fsType(tmpdir()) === "tmpfs")(
    "takes the temp dir when it is a tmpfs, else the first tmpfs candidate, else the temp dir",
    () => {
      expect(chooseScratchParent(disk, ["/proc", "/dev/shm"])).toBe("/dev/shm");
      expect(chooseScratchParent(disk, ["/proc", join(disk, "missing")])).toBe(disk);
      expect(chooseScratchParent(disk, [])).toBe(disk);
      expect(chooseScratchParent("/dev/shm", [disk])).toBe("/dev/shm");
      expect(runScratchParent()).toBe("/dev/shm");
    },
  );
});
