import { type ChildProcess, spawn } from "node:child_process";
import {
  chmod,
  copyFile,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  readlink,
  rm,
  symlink,
  writeFile,
} from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { processStartTime } from "@molt/oci";
import { afterAll, beforeAll, describe, expect, inject, test } from "vitest";
import { runScratchParent } from "../../packages/core/src/runner/scratch-dir.js";
import { run } from "../harness/exec.js";
import { startFaultProxy } from "../harness/fault-proxy.js";
import { pushHandMadeImage } from "../harness/hand-image.js";
import { MOLT_BIN, MOLT_LAUNCHER, molt } from "../harness/molt-cli.js";

/*
 * kill -9 of `molt build` at each phase: afterwards the host's mount table holds nothing of the
 * build (its mounts lived in a private mount namespace that died with it), and the next build
 * reclaims the temporary directories the killed one left.
 */
const registry = inject("registry");
let dir: string;
let bigImage: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "molt-e2e-sigkill-"));
  const bb = join(dir, "bb");
  await mkdir(join(bb, "bin"), { recursive: true });
  await copyFile("/bin/busybox", join(bb, "bin", "busybox"));
  await chmod(join(bb, "bin", "busybox"), 0o755);
  for (const app of ["sh", "true", "sleep", "touch", "head"]) await symlink("busybox", join(bb, "bin", app));
  const big = join(dir, "big");
  await mkdir(big);
  await run("truncate", ["-s", "512M", join(big, "big")]);
  bigImage = `${registry}/sigkill/big:1`;
  await pushHandMadeImage(bigImage, [{ dir: bb }, { dir: big }]);
  await pushHandMadeImage(`${registry}/sigkill/bb:1`, [{ dir: bb }]);
}, 120_000);
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Paths below `root` (find, not our code). */
async function find(root: string, name: string): Promise<string[]> {
  const r = await run("find", [root, "-name", name], { allowFail: true });
  return r.stdout.split("\n").filter(Boolean);
}

/** Pids of processes whose command line mentions `needle`. */
async function processesWith(needle: string): Promise<number[]> {
  const out: number[] = [];
  for (const p of await readdir("/proc")) {
    if (!/^\d+$/.test(p)) continue;
    const cmd = await readFile(`/proc/${p}/cmdline`, "latin1").catch(() => "");
    if (cmd.includes(needle)) out.push(Number(p));
  }
  return out;
}

async function until(
  what: string,
  check: () => Promise<boolean>,
  child: ChildProcess,
  ms = 90_000,
): Promise<void> {
  const t0 = Date.now();
  while (!(await check())) {
    if (child.exitCode !== null) throw new Error(`molt exited (${child.exitCode}) before ${what}`);
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function killDuring(
  phase: string,
  dockerfile: string,
  args: string[],
  ready: (tmp: string) => Promise<boolean>,
  via: "node" | "bin" = "node",
  tarball = false,
): Promise<void> {
  const tmp = await mkdtemp(join(dir, `tmp-${phase}-`));
  const midRun = /^(run|tarball)/.test(phase);
  const scratch = runScratchParent();
  const scratchBefore = new Set(await readdir(scratch));
  const ctx = join(dir, `ctx-${phase}`);
  await mkdir(ctx);
  await writeFile(join(ctx, "Dockerfile"), dockerfile);
  // A tarball context is extracted by molt into a temp dir of its own.
  if (tarball) await run("tar", ["-cf", `${ctx}.tar`, "-C", ctx, "."]);
  const context = tarball ? `tar://${ctx}.tar` : ctx;
  const argv = ["build", "-c", context, "--insecure-pull", ...args];
  const child =
    via === "bin"
      ? spawn(MOLT_LAUNCHER, argv, { env: { ...process.env, TMPDIR: tmp }, stdio: "ignore" })
      : spawn(process.execPath, [MOLT_BIN, ...argv], {
          env: { ...process.env, TMPDIR: tmp },
          stdio: "ignore",
        });
  const exited = new Promise((r) => child.once("exit", r));
  try {
    await until(phase, () => ready(tmp), child);
    if (via === "bin") {
      // bin/molt exec'ed the build through unshare: the process we started is the build, in a
      // mount namespace other than ours.
      expect(await readFile(`/proc/${child.pid}/cmdline`, "latin1")).toContain("bundle/bin.js");
      const [theirs, ours] = await Promise.all(
        [`/proc/${child.pid}/ns/mnt`, "/proc/self/ns/mnt"].map((p) => readlink(p)),
      );
      expect(theirs).not.toBe(ours);
    }
  } finally {
    child.kill("SIGKILL");
    await exited;
  }
  // The build itself (a child in its own namespace) dies with the process we killed.
  const t0 = Date.now();
  while ((await processesWith(ctx)).length > 0) {
    expect(Date.now() - t0).toBeLessThan(10_000);
    await new Promise((r) => setTimeout(r, 50));
  }
  const mounts = await readFile("/proc/self/mountinfo", "utf8");
  expect(mounts.split("\n").filter((l) => l.includes(tmp))).toEqual([]);
  const left = await readdir(tmp);
  expect(left.some((n) => n.startsWith("molt-build-"))).toBe(true); // killed mid-way: its dirs stayed
  // A RUN's scratch dir (fstab, /dev skeleton) lives in runScratchParent() (/dev/shm when TMPDIR is
  // not a tmpfs): the killed build's is there while a RUN was running (new since the build started,
  // its owner dead), and reclaimed too.
  const orphans = async () => {
    const out: string[] = [];
    for (const d of await readdir(scratch)) {
      if (!d.startsWith("molt-run-") || scratchBefore.has(d)) continue;
      const owner = await readFile(join(scratch, d, ".molt-owner"), "latin1").catch(() => "");
      const pid = owner.split(" ")[0];
      if (pid && processStartTime(Number(pid)) === undefined) out.push(d); // gone, or a zombie
    }
    return out;
  };
  const orphaned = await orphans();
  if (midRun) expect(orphaned).toHaveLength(1);
  // The next build (here a trivial one) reclaims them.
  const next = join(dir, `next-${phase}`);
  await mkdir(next);
  await writeFile(join(next, "Dockerfile"), "FROM scratch\nENV A=1\n");
  const r = await molt(["build", "-c", next, "--no-push", "--tar-path", join(dir, `next-${phase}.tar`)], {
    env: { ...process.env, TMPDIR: tmp },
  });
  expect(r.stderr).not.toContain("error");
  expect(r.code).toBe(0);
  expect(await readdir(tmp)).toEqual([]);
  const still = new Set(await readdir(scratch));
  expect(orphaned.filter((d) => still.has(d))).toEqual([]);
}

describe.skipIf(process.getuid?.() !== 0)(
  "SIGKILL at each phase leaves no mount, and the next build reclaims the dirs",
  () => {
    test("while extracting the base image", async () => {
      await killDuring(
        "extract",
        `FROM ${bigImage}\nRUN true\n`,
        ["--no-push", "--tar-path", join(dir, "x.tar")],
        async (tmp) => (await find(tmp, "big")).some((p) => p.includes("/stage-0/root/")),
      );
    });

    test("during a RUN (its overlay mounted)", async () => {
      await killDuring(
        "run",
        `FROM ${registry}/sigkill/bb:1\nRUN touch /started && sleep 60\n`,
        ["--no-push", "--tar-path", join(dir, "x.tar")],
        async (tmp) => (await find(tmp, "started")).some((p) => p.includes("/upper/")),
      );
    });

    test("during a RUN, started by the package's bin (which execs the build through unshare)", async () => {
      await killDuring(
        "run-bin",
        `FROM ${registry}/sigkill/bb:1\nRUN touch /started && sleep 60\n`,
        ["--no-push", "--tar-path", join(dir, "x.tar")],
        async (tmp) => (await find(tmp, "started")).some((p) => p.includes("/upper/")),
        "bin",
      );
    });

    test("during a RUN of a build from a tarball context (its extracted copy is reclaimed too)", async () => {
      await killDuring(
        "tarball",
        `FROM ${registry}/sigkill/bb:1\nRUN touch /started && sleep 60\n`,
        ["--no-push", "--tar-path", join(dir, "x.tar")],
        async (tmp) => (await find(tmp, "started")).some((p) => p.includes("/upper/")),
        "node",
        true,
      );
    });

    test("while writing a layer", async () => {
      await killDuring(
        "layer",
        `FROM ${registry}/sigkill/bb:1\nRUN head -c 400000000 /dev/zero > /big\n`,
        ["--no-push", "--tar-path", join(dir, "x.tar")],
        async (tmp) => (await find(tmp, "*.partial")).length > 0,
      );
    });

    test("while pushing", async () => {
      const proxy = await startFaultProxy(registry);
      try {
        await killDuring(
          "push",
          `FROM ${registry}/sigkill/bb:1\nRUN head -c 100000000 /dev/urandom > /big\n`,
          ["-d", `${proxy.host}/sigkill/pushed:1`, "--insecure"],
          async () => proxy.seen.some((s) => s.method === "POST" && s.url.includes("/blobs/uploads/")),
        );
      } finally {
        await proxy.stop();
      }
    });
  },
);
