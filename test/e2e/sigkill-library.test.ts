import { spawn } from "node:child_process";
import { chmod, copyFile, mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, test } from "vitest";
import { run } from "../harness/exec.js";
import { pushHandMadeImage } from "../harness/hand-image.js";
import { molt } from "../harness/molt-cli.js";

/*
 * kill -9 of a Node program that calls `build()` itself, as root in the host's mount namespace
 * (no CLI re-exec around it), in the middle of a RUN: the step's overlay lived in the private
 * mount namespace of a holder process that dies with the program, so the host's mount table
 * never holds it, and no process of the build is left afterwards.
 */
const registry = inject("registry");
const CORE = join(import.meta.dirname, "..", "..", "packages", "core", "dist", "index.js");
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "molt-e2e-sigkill-lib-"));
  const bb = join(dir, "bb");
  await mkdir(join(bb, "bin"), { recursive: true });
  await copyFile("/bin/busybox", join(bb, "bin", "busybox"));
  await chmod(join(bb, "bin", "busybox"), 0o755);
  for (const app of ["sh", "touch", "sleep"]) await symlink("busybox", join(bb, "bin", app));
  await pushHandMadeImage(`${registry}/sigkill-lib/bb:1`, [{ dir: bb }]);
}, 120_000);
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Every process whose parent chain leads to `root` (read from /proc, not from our code). */
async function descendants(root: number): Promise<Set<string>> {
  const parent = new Map<number, number>();
  const ident = new Map<number, string>();
  for (const p of await readdir("/proc")) {
    if (!/^\d+$/.test(p)) continue;
    const stat = await readFile(`/proc/${p}/stat`, "latin1").catch(() => "");
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    if (f.length < 20) continue;
    parent.set(Number(p), Number(f[1]));
    ident.set(Number(p), `${p}:${f[19]}`); // pid and start time: a reused pid is another process
  }
  const out = new Set<string>();
  for (const pid of parent.keys()) {
    for (let q: number | undefined = pid; q !== undefined && q > 1; q = parent.get(q)) {
      if (q === root) {
        out.add(ident.get(pid)!);
        break;
      }
    }
  }
  return out;
}

/** Whether the process `pid:start` still runs (a zombie waiting for init to reap it does not). */
async function alive(id: string): Promise<boolean> {
  const [pid, start] = id.split(":");
  const stat = await readFile(`/proc/${pid}/stat`, "latin1").catch(() => "");
  if (stat === "") return false;
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return f[19] === start && f[0] !== "Z" && f[0] !== "X";
}

async function hostMountsUnder(path: string): Promise<string[]> {
  const mounts = await readFile("/proc/self/mountinfo", "utf8");
  return mounts.split("\n").filter((l) => l.includes(path));
}

describe.skipIf(process.getuid?.() !== 0)("SIGKILL of a program calling build() as root", () => {
  test("mid-RUN: no mount in the host's table (during or after), no process left, dirs reclaimed", async () => {
    const tmp = await mkdtemp(join(dir, "tmp-"));
    const ctx = join(dir, "ctx");
    await mkdir(ctx);
    const script = join(dir, "embed.mjs");
    await writeFile(
      script,
      [
        `import { build } from ${JSON.stringify(CORE)};`,
        "await build({",
        `  context: ${JSON.stringify(ctx)},`,
        `  dockerfileText: ${JSON.stringify(`FROM ${registry}/sigkill-lib/bb:1\nRUN touch /started && sleep 60\n`)},`,
        "  noPush: true,",
        `  ociLayoutPath: ${JSON.stringify(join(dir, "layout"))},`,
        `  registries: { "*": { pull: { insecure: true } } },`,
        "});",
        "",
      ].join("\n"),
    );
    const child = spawn(process.execPath, [script], {
      env: { ...process.env, TMPDIR: tmp },
      stdio: "ignore",
    });
    const exited = new Promise((r) => child.once("exit", r));
    let tree: Set<string>;
    try {
      const t0 = Date.now();
      for (;;) {
        const r = await run("find", [tmp, "-name", "started", "-path", "*/upper/*"], { allowFail: true });
        if (r.stdout.trim() !== "") break;
        if (child.exitCode !== null) throw new Error(`the program exited (${child.exitCode}) before the RUN`);
        expect(Date.now() - t0).toBeLessThan(90_000);
        await new Promise((r) => setTimeout(r, 25));
      }
      // The step's overlay is mounted, but not in the host's namespace.
      expect(await hostMountsUnder(tmp)).toEqual([]);
      tree = await descendants(child.pid!);
      expect(tree.size).toBeGreaterThan(0); // the RUN's sleep at least
    } finally {
      child.kill("SIGKILL");
      await exited;
    }
    const t0 = Date.now();
    for (;;) {
      const left: string[] = [];
      for (const id of tree) if (await alive(id)) left.push(id);
      if (left.length === 0) break;
      expect(Date.now() - t0, `still running: ${left.join(" ")}`).toBeLessThan(10_000);
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(await hostMountsUnder(tmp)).toEqual([]);
    expect((await readdir(tmp)).some((n) => n.startsWith("molt-build-"))).toBe(true);
    // The next build reclaims what the killed one left.
    const next = join(dir, "next");
    await mkdir(next);
    await writeFile(join(next, "Dockerfile"), "FROM scratch\nENV A=1\n");
    const r = await molt(["build", "-c", next, "--no-push", "--tar-path", join(dir, "next.tar")], {
      env: { ...process.env, TMPDIR: tmp, MOLT_MOUNT_NAMESPACE: "0" },
    });
    expect(r.code).toBe(0);
    expect(await readdir(tmp)).toEqual([]);
  }, 120_000);
});
