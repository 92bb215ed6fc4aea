import { existsSync } from "node:fs";
import { lstat, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { run } from "../../../test/harness/exec.js";
import { freshRootfs, mountsUnder } from "../../../test/harness/runner-rootfs.js";

// The rootless runner must run as a non-root user, so this test creates one, and drives the
// built runner (packages/core/dist, made by `pnpm build` before `pnpm test`) from a small script
// executed as that user.
const DIST = join(import.meta.dirname, "..", "dist", "runner", "index.js");

async function why(): Promise<string | undefined> {
  if (process.geteuid?.() !== 0) return "needs root to create an unprivileged test user";
  if (!existsSync("/usr/sbin/useradd")) return "useradd not found";
  if (!existsSync(DIST)) return `${DIST} not built (run pnpm build)`;
  const probe = await run(
    "setpriv",
    [
      "--reuid=65534",
      "--regid=65534",
      "--clear-groups",
      "unshare",
      "--user",
      "--map-root-user",
      "--mount",
      "--pid",
      "--fork",
      "true",
    ],
    { allowFail: true },
  );
  if (probe.code !== 0)
    return `the kernel refuses user namespaces to unprivileged users: ${probe.stderr.trim()}`;
  return undefined;
}

const skipReason = await why();
if (skipReason) console.log(`runner-rootless: skipped: ${skipReason}`);

const SCRIPT = `
import { selectRunner, resolveUser, runEnvironment } from ${JSON.stringify(DIST)};
const [rootfs] = process.argv.slice(2);
const runner = await selectRunner("auto");
const results = { name: runner.name, limitations: runner.limitations, runs: [] };
async function go(cmd, extra = {}) {
  const user = await resolveUser(rootfs, extra.userSpec);
  const out = [];
  try {
    const o = await runner.run({ rootfs, argv: ["/bin/sh", "-c", cmd], env: runEnvironment(["PATH=/bin"], new Map(), user),
      cwd: extra.cwd ?? "/", user, network: extra.network, signal: extra.signal, onOutput: (s, l) => { out.push(l); extra.onLine?.(l); } });
    results.runs.push({ exitCode: o.exitCode, out });
  } catch (e) {
    results.runs.push({ error: e.code, message: e.message, out });
  }
}
await go("id -u; id -g; touch /tmp/made-by-rootless; test -r /proc/self/status && echo proc; ls /dev/null /dev/zero; cat /proc/self/mountinfo | grep -c ' /dev/null '", { cwd: "/work" });
await go("exit 42");
await go("ls /sys/class/net", { network: "none" });
await go("id", { userSpec: "user" });
const ac = new AbortController();
await go("sleep 30 & echo started; wait", { signal: ac.signal, onLine: (l) => l === "started" && ac.abort() });
console.log(JSON.stringify(results));
`;

describe.skipIf(skipReason !== undefined)("rootless runner (as an unprivileged user)", () => {
  const name = `molt-rl-${process.pid}`;
  let uid: number;
  let gid: number;
  let fresh: Awaited<ReturnType<typeof freshRootfs>>;
  let results: {
    name: string;
    limitations: string[];
    runs: { exitCode?: number; error?: string; message?: string; out: string[] }[];
  };

  beforeAll(async () => {
    await run("useradd", ["--no-create-home", "--shell", "/usr/sbin/nologin", "--user-group", name]);
    uid = Number((await run("id", ["-u", name])).stdout.trim());
    gid = Number((await run("id", ["-g", name])).stdout.trim());
    fresh = await freshRootfs();
    await run("chown", ["-R", `${uid}:${gid}`, fresh.dir]);
    const script = join(fresh.dir, "drive.mjs");
    await writeFile(script, SCRIPT);
    const r = await run(
      "setpriv",
      [`--reuid=${uid}`, `--regid=${gid}`, "--clear-groups", process.execPath, script, fresh.rootfs],
      { env: { PATH: "/usr/bin:/bin", HOME: fresh.dir }, cwd: fresh.dir },
    );
    results = JSON.parse(r.stdout.trim().split("\n").at(-1)!);
  }, 120_000);

  afterAll(async () => {
    await fresh?.dispose();
    await run("userdel", [name], { allowFail: true });
  });

  it("is what auto picks for a non-root user, and says what it cannot do", () => {
    expect(results.name).toBe("rootless");
    expect(results.limitations.join("\n")).toContain("only your own uid is mapped");
    console.log(`rootless limitations here:\n  ${results.limitations.join("\n  ")}`);
  });

  it("runs as root inside; files it makes belong to the user outside", async () => {
    const [first] = results.runs;
    expect(first).toEqual({ exitCode: 0, out: ["0", "0", "proc", "/dev/null", "/dev/zero", "1"] });
    const st = await stat(join(fresh.rootfs, "tmp", "made-by-rootless"));
    expect([st.uid, st.gid]).toEqual([uid, gid]);
    expect((await stat(join(fresh.rootfs, "work"))).uid).toBe(uid);
    for (const p of ["proc", "sys", "dev", "etc/resolv.conf"]) {
      await expect(lstat(join(fresh.rootfs, p)), p).rejects.toMatchObject({ code: "ENOENT" });
    }
    expect(await mountsUnder(fresh.rootfs)).toEqual([]);
  });

  it("propagates exit codes", () => {
    expect(results.runs[1]).toEqual({ exitCode: 42, out: [] });
  });

  it("isolates the network with --network=none", () => {
    expect(results.runs[2]).toEqual({ exitCode: 0, out: ["lo"] });
  });

  it("refuses a USER it cannot map instead of running it as root", () => {
    expect(results.runs[3]).toMatchObject({ error: "MOLT_RUN_UNSUPPORTED" });
    expect(results.runs[3]!.message).toContain("uid 1000");
  });

  it("abort kills the tree and rejects", () => {
    expect(results.runs[4]).toMatchObject({ error: "MOLT_ABORTED", out: ["started"] });
  });
});
