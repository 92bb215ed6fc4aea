import { existsSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { run } from "../../../test/harness/exec.js";
import { createPodman, type Podman } from "../../../test/harness/podman.js";
import { freshRootfs, mountsUnder } from "../../../test/harness/runner-rootfs.js";

// RunSpec.mounts and secretEnv in every runner: chroot with namespaces (here, as root), rootless
// (an unprivileged user), chroot alone and in-place (in a podman container with default
// capabilities, where mounts are refused and content is put into the root for the command).
const DIST = join(import.meta.dirname, "..", "dist", "runner", "index.js");

const CMD = [
  "cat /m/ro/f",
  "(touch /m/ro/x 2>/dev/null && echo ro-writable || echo ro-refused)",
  "ls /var/cache/c | tr '\\n' ' '; echo",
  "echo new > /var/cache/c/new",
  "echo x > /t/file && echo tmpfs-ok",
  "cat /run/molt-test/s; echo",
  'echo "tok=$TOK"',
].join("; ");

/** The driver: prepares sources under WORK, runs CMD once with four mounts, reports what it saw and what is left. */
const SCRIPT = `
import fs from "node:fs";
import { selectRunner, resolveUser, runEnvironment } from ${JSON.stringify(DIST)};
const [rootfs, work, pref] = process.argv.slice(2);
const runner = await selectRunner(pref, { allowInPlace: true });
const R = rootfs === "/" ? "" : rootfs;
fs.mkdirSync(work + "/src", { recursive: true }); fs.writeFileSync(work + "/src/f", "bound\\n");
fs.mkdirSync(work + "/cache", { recursive: true }); fs.writeFileSync(work + "/cache/old", "cached\\n");
fs.writeFileSync(work + "/secret", "hush-123", { mode: 0o400 });
fs.mkdirSync(R + "/var/cache/c", { recursive: true }); fs.writeFileSync(R + "/var/cache/c/image-file", "image\\n");
fs.utimesSync(R + "/var/cache/c", 1000, 1000); fs.utimesSync(R + "/var/cache", 1000, 1000);
const mt = (p) => fs.statSync(p, { bigint: true }).mtimeNs.toString();
const before = { cache: mt(R + "/var/cache/c"), parent: mt(R + "/var/cache"), root: mt(R || "/") };
const user = await resolveUser(rootfs, undefined);
const out = [];
let res;
try {
  const o = await runner.run({ rootfs, argv: ["/bin/sh", "-c", ${JSON.stringify(CMD)}], env: runEnvironment(["PATH=/bin:/usr/bin"], new Map(), user), cwd: "/", user,
    mounts: [
      { type: "bind", source: work + "/src", target: "/m/ro", readonly: true },
      { type: "bind", source: work + "/cache", target: "/var/cache/c", readonly: false, persist: true },
      { type: "tmpfs", target: "/t", size: 1 << 20 },
      { type: "bind", source: work + "/secret", target: "/run/molt-test/s", readonly: true },
    ],
    secretEnv: { TOK: "env-secret-456" }, onOutput: (s, l) => out.push(l) });
  res = { exitCode: o.exitCode };
} catch (e) { res = { error: e.code, message: e.message }; }
const after = {
  m: fs.existsSync(R + "/m"), t: fs.existsSync(R + "/t"), secretDir: fs.existsSync(R + "/run/molt-test"),
  image: fs.readdirSync(R + "/var/cache/c").filter((n) => !n.startsWith(".molt")),
  hidden: fs.readdirSync(R + "/var/cache").filter((n) => n.startsWith(".molt")),
  cacheSrc: fs.readdirSync(work + "/cache").sort(),
  times: { cache: mt(R + "/var/cache/c"), parent: mt(R + "/var/cache"), root: mt(R || "/") },
};
console.log(JSON.stringify({ name: runner.name, mode: runner.mode, ...res, out, before, after }));
`;

interface Report {
  name: string;
  mode?: string;
  exitCode?: number;
  error?: string;
  message?: string;
  out: string[];
  before: { cache: string; parent: string; root: string };
  after: {
    m: boolean;
    t: boolean;
    secretDir: boolean;
    image: string[];
    hidden: string[];
    cacheSrc: string[];
    times: { cache: string; parent: string; root: string };
  };
}

function expectClean(r: Report, ro: "ro-refused" | "ro-writable"): void {
  expect(r.error, r.message).toBeUndefined();
  expect(r.exitCode).toBe(0);
  expect(r.out).toEqual(["bound", ro, "old ", "tmpfs-ok", "hush-123", "tok=env-secret-456"]);
  expect(r.after).toMatchObject({ m: false, t: false, secretDir: false, image: ["image-file"], hidden: [] });
  expect(r.after.cacheSrc).toEqual(["new", "old"]);
  expect(r.after.times).toEqual(r.before);
}

const root = process.geteuid?.() === 0;
const haveDist = existsSync(DIST);

describe.skipIf(!root || !haveDist)("RUN mounts through each runner", () => {
  let podman: Podman | undefined;
  const disposers: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const d of disposers) await d();
    await podman?.cleanup();
  });

  async function setup() {
    const fresh = await freshRootfs();
    disposers.push(fresh.dispose);
    const work = join(fresh.dir, "work");
    await mkdir(work);
    const script = join(fresh.dir, "drive.mjs");
    await writeFile(script, SCRIPT);
    return { fresh, work, script };
  }

  it("chroot with namespaces: real mounts (ro enforced), nothing left in the root or the mount table", async () => {
    const { fresh, work, script } = await setup();
    const r = await run(process.execPath, [script, fresh.rootfs, work, "chroot"]);
    const rep = JSON.parse(r.stdout.trim().split("\n").at(-1)!) as Report;
    expect([rep.name, rep.mode]).toEqual(["chroot", "namespaces"]);
    expectClean(rep, "ro-refused");
    expect(await mountsUnder(fresh.rootfs)).toEqual([]);
  }, 60_000);

  it("rootless (an unprivileged user): real mounts in its namespaces", async () => {
    const { fresh, work, script } = await setup();
    const name = `molt-rlm-${process.pid}`;
    await run("useradd", [
      "--no-create-home",
      "--shell",
      "/usr/sbin/nologin",
      "--user-group",
      "-K",
      "SUB_UID_COUNT=0",
      "-K",
      "SUB_GID_COUNT=0",
      name,
    ]);
    disposers.push(async () => {
      await run("userdel", [name], { allowFail: true });
    });
    const uid = (await run("id", ["-u", name])).stdout.trim();
    const gid = (await run("id", ["-g", name])).stdout.trim();
    await run("chown", ["-R", `${uid}:${gid}`, fresh.dir]);
    const r = await run(
      "setpriv",
      [
        `--reuid=${uid}`,
        `--regid=${gid}`,
        "--clear-groups",
        process.execPath,
        script,
        fresh.rootfs,
        work,
        "rootless",
      ],
      {
        env: { PATH: "/usr/bin:/bin", HOME: fresh.dir },
        cwd: fresh.dir,
        allowFail: true,
      },
    );
    const line = r.stdout.trim().split("\n").at(-1);
    if (!line?.startsWith("{")) throw new Error(`driver failed: ${r.stderr}`);
    const rep = JSON.parse(line) as Report;
    expect(rep.name).toBe("rootless");
    expectClean(rep, "ro-refused");
  }, 60_000);

  for (const pref of ["chroot", "in-place"] as const) {
    it(`${pref} in a default container (no mounts): content put in for the command and taken out`, async () => {
      podman ??= await createPodman();
      const { fresh, work, script } = await setup();
      const r = await podman.podman([
        "run",
        "--rm",
        "--ulimit",
        "nofile=1024:1024",
        "--ulimit",
        "nproc=1024:1024",
        "-v",
        `${fresh.dir}:${fresh.dir}`,
        "--rootfs",
        "/:O",
        process.execPath,
        script,
        pref === "in-place" ? "/" : fresh.rootfs,
        work,
        pref,
      ]);
      const rep = JSON.parse(r.stdout.trim().split("\n").at(-1)!) as Report;
      expect(rep.name).toBe(pref);
      if (pref === "chroot") expect(rep.mode).toBe("plain");
      expectClean(rep, "ro-writable");
    }, 120_000);
  }
});
