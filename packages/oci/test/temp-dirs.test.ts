import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { makeOwnedTempDir, OWNER_FILE, processStartTime, reclaimStaleTempDirs } from "../src/index.js";

const parent = await mkdtemp(join(tmpdir(), "oci-temp-dirs-"));
afterAll(() => rm(parent, { recursive: true, force: true }));

/** A pid that has just exited (so no process has it, barring immediate reuse). */
function deadPid(): number {
  const r = spawnSync("sh", ["-c", "echo $$"], { encoding: "utf8" });
  return Number(r.stdout.trim());
}

async function dirOwnedBy(name: string, owner: string | undefined): Promise<string> {
  const d = join(parent, name);
  await mkdir(d);
  await writeFile(join(d, "payload"), "x");
  if (owner !== undefined) await writeFile(join(d, OWNER_FILE), owner);
  return d;
}

describe("temp dirs with an owner", () => {
  test("the owner file holds this pid and its start time from /proc", () => {
    const d = makeOwnedTempDir(parent, "molt-own-");
    const [pid, start] = readFileSync(join(d, OWNER_FILE), "latin1").trim().split(" ");
    expect(Number(pid)).toBe(process.pid);
    // /proc/self/stat field 22, read independently here
    const stat = readFileSync("/proc/self/stat", "latin1");
    expect(start).toBe(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19]);
    expect(processStartTime(process.pid)).toBe(start);
  });

  test("reclaims dirs of dead owners and of reused pids; keeps live, unowned and foreign ones", async () => {
    const live = makeOwnedTempDir(parent, "molt-live-");
    const dead = await dirOwnedBy("molt-dead", `${deadPid()} 12345\n`);
    const reused = await dirOwnedBy("molt-reused", `${process.pid} 1\n`); // our pid, another start time
    const unowned = await dirOwnedBy("molt-unowned", undefined);
    const foreign = await dirOwnedBy("other-tool", `${deadPid()} 1\n`);
    const r = reclaimStaleTempDirs(parent);
    expect(r.removed.sort()).toEqual([dead, reused].sort());
    expect(r.kept).toEqual([]);
    for (const d of [live, unowned, foreign])
      expect(existsSync(join(d, "payload")) || existsSync(join(d, OWNER_FILE))).toBe(true);
    for (const d of [dead, reused]) expect(existsSync(d)).toBe(false);
    expect(await readdir(parent)).toHaveLength(4); // the three kept and the previous test's own dir
  });

  test.skipIf(process.getuid?.() !== 0)(
    "detaches a mount left below a dead owner's dir before removing it, never deleting through it",
    async () => {
      const outside = await mkdtemp(join(tmpdir(), "oci-temp-dirs-outside-"));
      await writeFile(join(outside, "keep"), "precious");
      const dead = await dirOwnedBy("molt-mounted", `${deadPid()} 1\n`);
      await mkdir(join(dead, "merged"));
      expect(spawnSync("mount", ["--bind", outside, join(dead, "merged")]).status).toBe(0);
      try {
        const r = reclaimStaleTempDirs(parent);
        expect(r.removed).toContain(dead);
        expect(existsSync(dead)).toBe(false);
        expect(readFileSync(join(outside, "keep"), "utf8")).toBe("precious");
        expect(readFileSync("/proc/self/mountinfo", "utf8")).not.toContain(dead);
      } finally {
        spawnSync("umount", ["-l", join(dead, "merged")]);
        await rm(outside, { recursive: true, force: true });
      }
    },
  );
});

describe("a killed owner not yet reaped", () => {
  test("a zombie owns nothing: its dir is reclaimed before init reaps it", async () => {
    // sh starts a short sleep in the background, then becomes `sleep 20`, which never waits for
    // it: the short sleep ends after the exec (so the shell cannot have reaped it first, as dash
    // may when the child ends before the exec) and stays a zombie (state Z in /proc).
    const { spawn } = await import("node:child_process");
    const holder = spawn("sh", ["-c", "sleep 0.3 & echo $!; exec sleep 20"], {
      stdio: ["ignore", "pipe", "ignore"],
    });
    try {
      const zombie = await new Promise<number>((resolve) =>
        holder.stdout.once("data", (d: Buffer) => resolve(Number(d.toString().trim()))),
      );
      const stateOf = () => readFileSync(`/proc/${zombie}/stat`, "latin1").split(") ")[1]?.[0];
      for (let i = 0; i < 250 && stateOf() !== "Z"; i++) await new Promise((r) => setTimeout(r, 20));
      expect(stateOf()).toBe("Z");
      const d = await dirOwnedBy("molt-zombie-owner", `${zombie} ?\n`);
      expect(processStartTime(zombie)).toBeUndefined();
      expect(reclaimStaleTempDirs(parent).removed).toContain(d);
      expect(existsSync(d)).toBe(false);
    } finally {
      holder.kill("SIGKILL");
    }
  });
});

describe("what a dead owner left running", () => {
  test("a leftover still writing in the dir is killed first, so the dir stays gone", async () => {
    const d = join(parent, "molt-leftover");
    await mkdir(d);
    // The owner (this sh) records itself and exits at once; its background subshell, as a probe's
    // pipeline subshell does, outlives it and keeps recreating a path below the dir.
    spawnSync(
      "sh",
      [
        "-c",
        `echo "$$ $(cut -d' ' -f22 /proc/$$/stat)" > '${d}/${OWNER_FILE}'; (while :; do mkdir -p '${d}/again' 2>/dev/null; sleep 0.01; done) &`,
      ],
      { stdio: "ignore" },
    );
    await new Promise((r) => setTimeout(r, 50));
    expect(existsSync(join(d, "again"))).toBe(true);
    const r = reclaimStaleTempDirs(parent);
    expect(r.removed).toContain(d);
    await new Promise((r) => setTimeout(r, 150));
    // Without the kill, the loop would have made `again` (and so the dir) anew by now.
    expect(existsSync(d)).toBe(false);
  });
});
