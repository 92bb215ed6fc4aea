import { existsSync } from "node:fs";
import { lstat, readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { run } from "../../../test/harness/exec.js";
import { freshRootfs, mountsUnder } from "../../../test/harness/runner-rootfs.js";
import { hostToContainerId, type IdMap } from "../src/runner/index.js";
import { driverPrelude } from "./runner-driver.js";

// The rootless runner must run as a non-root user, so this test creates users, and drives the
// built runner (packages/core/dist, made by `pnpm build` before `pnpm test`) from a small script
// executed as each user: one without subordinate ids (only its own uid maps, to root) and one
// with /etc/subuid and /etc/subgid ranges (newuidmap/newgidmap map the image's other ids).
const DIST = join(import.meta.dirname, "..", "dist", "runner", "index.js");

async function why(): Promise<string | undefined> {
  if (process.geteuid?.() !== 0) return "needs root to create unprivileged test users";
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

const SCRIPT = `${driverPrelude(DIST)}await go("id -u; id -g; touch /tmp/made-by-root; test -r /proc/self/status && echo proc; ls /dev/null /dev/zero; grep -c ' /dev/null ' /proc/self/mountinfo", { cwd: "/work" });
await go("exit 42");
await go("ls /sys/class/net", { network: "none" });
await go("id -u; id -G; pwd; touch made-by-user", { userSpec: "user", cwd: "/home/user/w" });
const ac = new AbortController();
await go("sleep 30 & echo started; wait", { signal: ac.signal, onLine: (l) => l === "started" && ac.abort() });
// RUN --mount targets under /home/user, which (with subordinate ids) is uid 1000's, mode 0700
const fs = await import("node:fs");
fs.mkdirSync("msrc/sub", { recursive: true }); fs.writeFileSync("msrc/sub/f", "bound"); fs.writeFileSync("mfile", "cfg");
const homeTime = () => fs.statSync(rootfs + "/home/user", { bigint: true }).mtimeNs.toString();
const homeBefore = homeTime();
await go("ls /home/user/.cache/m/sub; cat /home/user/.cache/m/sub/f; echo; cat /home/user/cfg; echo; echo x > /home/user/t/x && echo tmpfs-ok; grep -c ' /home/user/' /proc/self/mountinfo", {
  mounts: [
    { type: "bind", source: process.cwd() + "/msrc", target: "/home/user/.cache/m", readonly: true },
    { type: "tmpfs", target: "/home/user/t", size: 1 << 20 },
    { type: "bind", source: process.cwd() + "/mfile", target: "/home/user/cfg", readonly: true },
  ],
});
results.home = { before: homeBefore, after: homeTime() };
console.log(JSON.stringify(results));
`;

interface Results {
  name: string;
  limitations: string[];
  idMap: IdMap;
  runs: { exitCode?: number; error?: string; message?: string; out: string[] }[];
  home: { before: string; after: string };
}

/** Creates a user (with or without subordinate ids), gives it a fresh busybox root, runs SCRIPT as it. */
async function driveAs(name: string, subordinate: boolean) {
  await run("useradd", [
    "--no-create-home",
    "--shell",
    "/usr/sbin/nologin",
    "--user-group",
    ...(subordinate ? [] : ["-K", "SUB_UID_COUNT=0", "-K", "SUB_GID_COUNT=0"]),
    name,
  ]);
  const uid = Number((await run("id", ["-u", name])).stdout.trim());
  const gid = Number((await run("id", ["-g", name])).stdout.trim());
  const fresh = await freshRootfs();
  // As an id-mapped extraction would leave it: the image's root is this user, uid/gid 1000 are
  // the matching subordinate ids (when there are any).
  await run("chown", ["-R", `${uid}:${gid}`, fresh.dir]);
  let subStart: number | undefined;
  if (subordinate) {
    const line = (await readFile("/etc/subuid", "utf8")).split("\n").find((l) => l.startsWith(`${name}:`))!;
    subStart = Number(line.split(":")[1]);
    const gline = (await readFile("/etc/subgid", "utf8")).split("\n").find((l) => l.startsWith(`${name}:`))!;
    const subGid = Number(gline.split(":")[1]);
    await run("chown", [`${subStart + 999}:${subGid + 999}`, join(fresh.rootfs, "home", "user")]);
    await run("chmod", ["700", join(fresh.rootfs, "home", "user")]);
  }
  const script = join(fresh.dir, "drive.mjs");
  await writeFile(script, SCRIPT);
  const r = await run(
    "setpriv",
    [`--reuid=${uid}`, `--regid=${gid}`, "--clear-groups", process.execPath, script, fresh.rootfs],
    { env: { PATH: "/usr/bin:/bin", HOME: fresh.dir }, cwd: fresh.dir },
  );
  const results = JSON.parse(r.stdout.trim().split("\n").at(-1)!) as Results;
  return { uid, gid, fresh, results, subStart };
}

describe.skipIf(skipReason !== undefined)("rootless runner, one uid (no subordinate ids)", () => {
  const name = `molt-rl1-${process.pid}`;
  let d: Awaited<ReturnType<typeof driveAs>>;
  beforeAll(async () => {
    d = await driveAs(name, false);
  }, 120_000);
  afterAll(async () => {
    await d?.fresh.dispose();
    await run("userdel", [name], { allowFail: true });
  });

  it("is what auto picks for a non-root user, and says what it cannot do", () => {
    expect(d.results.name).toBe("rootless");
    expect(d.results.limitations.join("\n")).toContain("only your own uid is mapped");
    expect(d.results.idMap).toEqual({
      uid: [{ inside: 0, outside: d.uid, count: 1 }],
      gid: [{ inside: 0, outside: d.gid, count: 1 }],
    });
    console.log(`rootless limitations (one uid):\n  ${d.results.limitations.join("\n  ")}`);
  });

  it("runs as root inside; files it makes belong to the user outside; nothing left behind", async () => {
    expect(d.results.runs[0]).toEqual({
      exitCode: 0,
      out: ["0", "0", "proc", "/dev/null", "/dev/zero", "1"],
    });
    const st = await stat(join(d.fresh.rootfs, "tmp", "made-by-root"));
    expect([st.uid, st.gid]).toEqual([d.uid, d.gid]);
    expect((await stat(join(d.fresh.rootfs, "work"))).uid).toBe(d.uid);
    for (const p of ["proc", "sys", "dev", "etc/resolv.conf"]) {
      await expect(lstat(join(d.fresh.rootfs, p)), p).rejects.toMatchObject({ code: "ENOENT" });
    }
    expect(await mountsUnder(d.fresh.rootfs)).toEqual([]);
  });

  it("propagates exit codes and isolates the network with --network=none", () => {
    expect(d.results.runs[1]).toEqual({ exitCode: 42, out: [] });
    expect(d.results.runs[2]).toEqual({ exitCode: 0, out: ["lo"] });
  });

  it("refuses a USER it cannot map instead of running it as root", () => {
    expect(d.results.runs[3]).toMatchObject({ error: "MOLT_RUN_UNSUPPORTED" });
    expect(d.results.runs[3]!.message).toContain("uid 1000");
  });

  it("abort kills the tree and rejects", () => {
    expect(d.results.runs[4]).toMatchObject({ error: "MOLT_ABORTED", out: ["started"] });
  });

  it("creates missing RUN --mount targets under /home/user and removes them after, mtime kept", async () => {
    expect(d.results.runs[5]).toEqual({ exitCode: 0, out: ["f", "bound", "cfg", "tmpfs-ok", "3"] });
    const home = join(d.fresh.rootfs, "home", "user");
    for (const p of [".cache", "t", "cfg"]) {
      await expect(lstat(join(home, p)), p).rejects.toMatchObject({ code: "ENOENT" });
    }
    expect(d.results.home.after).toBe(d.results.home.before);
    expect(await mountsUnder(d.fresh.rootfs)).toEqual([]);
  });
});

describe.skipIf(skipReason !== undefined || !existsSync("/usr/bin/newuidmap"))(
  "rootless runner with subordinate ids (newuidmap, /etc/subuid)",
  () => {
    const name = `molt-rl2-${process.pid}`;
    let d: Awaited<ReturnType<typeof driveAs>>;
    beforeAll(async () => {
      d = await driveAs(name, true);
    }, 120_000);
    afterAll(async () => {
      await d?.fresh.dispose();
      await run("userdel", [name], { allowFail: true });
    });

    it("maps root to the user and 1… to the subordinate range", () => {
      expect(d.results.name).toBe("rootless");
      expect(d.results.idMap.uid).toEqual([
        { inside: 0, outside: d.uid, count: 1 },
        { inside: 1, outside: d.subStart, count: 65535 },
      ]);
      console.log(`rootless limitations (subordinate ids):\n  ${d.results.limitations.join("\n  ")}`);
    });

    it("runs USER user as uid 1000 with its groups, creating its working directory", async () => {
      expect(d.results.runs[3]).toEqual({ exitCode: 0, out: ["1000", "1000 50", "/home/user/w"] });
      for (const p of ["home/user/w", "home/user/w/made-by-user"]) {
        const st = await stat(join(d.fresh.rootfs, p));
        expect([p, st.uid, hostToContainerId(d.results.idMap, "uid", st.uid)]).toEqual([
          p,
          d.subStart! + 999,
          1000,
        ]);
        expect(hostToContainerId(d.results.idMap, "gid", st.gid)).toBe(1000);
      }
      expect(hostToContainerId(d.results.idMap, "uid", d.uid)).toBe(0);
    });

    it("still runs root commands as the user itself on disk", async () => {
      expect(d.results.runs[0]!.out.slice(0, 2)).toEqual(["0", "0"]);
      expect((await stat(join(d.fresh.rootfs, "tmp", "made-by-root"))).uid).toBe(d.uid);
      expect(await mountsUnder(d.fresh.rootfs)).toEqual([]);
    });

    it("creates missing RUN --mount targets under /home/user and removes them after, mtime kept", async () => {
      expect(d.results.runs[5]).toEqual({ exitCode: 0, out: ["f", "bound", "cfg", "tmpfs-ok", "3"] });
      const home = join(d.fresh.rootfs, "home", "user");
      for (const p of [".cache", "t", "cfg"]) {
        await expect(lstat(join(home, p)), p).rejects.toMatchObject({ code: "ENOENT" });
      }
      expect(d.results.home.after).toBe(d.results.home.before);
      expect(await mountsUnder(d.fresh.rootfs)).toEqual([]);
    });
  },
);
