import { existsSync } from "node:fs";
import { lstat, readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { run } from "../../../test/harness/exec.js";
import { createPodman, type Podman } from "../../../test/harness/podman.js";
import { freshRootfs, mountsUnder } from "../../../test/harness/runner-rootfs.js";
import { driverPrelude } from "./runner-driver.js";

// The chroot runner inside a plain container (podman's default capabilities and seccomp, like a
// Kubernetes pod or a CI job container): mounts and unshare are refused, chroot is not. The
// container's root is this machine's / under an overlay (`--rootfs /:O`), so the built runner
// (packages/core/dist, made by `pnpm build`) and node are there; the test root is bind-mounted.
const DIST = join(import.meta.dirname, "..", "dist", "runner", "index.js");

async function why(): Promise<string | undefined> {
  if (process.geteuid?.() !== 0) return "needs root";
  if (!existsSync(DIST)) return `${DIST} not built (run pnpm build)`;
  for (const b of ["podman", "runc"]) {
    if ((await run("sh", ["-c", `command -v ${b}`], { allowFail: true })).code !== 0)
      return `${b} not installed`;
  }
  return undefined;
}
const skipReason = await why();
if (skipReason) console.log(`runner-container: skipped: ${skipReason}`);

const SCRIPT = `${driverPrelude(DIST)}await go("id -u; id -G; touch /home/user/by-user; test -e /proc/self && echo proc || echo no-proc; " +
  "test -c /dev/null && echo x > /dev/null && echo null-ok; head -c 4 /dev/urandom | wc -c; cat /etc/resolv.conf", { userSpec: "user", cwd: "/home/user/w" });
await go("exit 42");
await go("ip -o link | cut -d: -f2 | tr -d ' '", { network: "none" });
const ac = new AbortController();
await go("sleep 30 & echo started; wait", { signal: ac.signal, onLine: (l) => l === "started" && ac.abort() });
console.log(JSON.stringify(results));
`;

interface Results {
  name: string;
  mode: string;
  limitations: string[];
  runs: { exitCode?: number; error?: string; message?: string; out: string[] }[];
}

/**
 * Runs SCRIPT in a podman container with default capabilities and seccomp over a fresh busybox
 * root (whose /etc/resolv.conf is the image's own); `setup` runs first inside the container.
 */
async function inContainer(podman: Podman, setup = "") {
  const fresh = await freshRootfs();
  await writeFile(join(fresh.rootfs, "etc", "resolv.conf"), "nameserver 192.0.2.53\n");
  const resolvBefore = (await stat(join(fresh.rootfs, "etc", "resolv.conf"), { bigint: true })).mtimeNs;
  const script = join(fresh.dir, "drive.mjs");
  await writeFile(script, SCRIPT);
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
    "/bin/sh",
    "-c",
    `${setup} unshare -m true 2>/dev/null && echo UNSHARE-ALLOWED; cat /etc/resolv.conf > ${fresh.dir}/container-resolv; exec ${process.execPath} ${script} ${fresh.rootfs}`,
  ]);
  const lines = r.stdout.trim().split("\n");
  expect(lines).not.toContain("UNSHARE-ALLOWED"); // the premise: a container that refuses mount namespaces
  return {
    fresh,
    resolvBefore,
    results: JSON.parse(lines.at(-1)!) as Results,
    containerResolv: await readFile(join(fresh.dir, "container-resolv"), "utf8"),
  };
}

describe.skipIf(skipReason !== undefined)(
  "chroot runner in a plain container (no subordinate ids for root): chroot alone",
  () => {
    let podman: Podman;
    let c: Awaited<ReturnType<typeof inContainer>>;
    let results: Results;
    let fresh: Awaited<ReturnType<typeof freshRootfs>>;

    beforeAll(async () => {
      podman = await createPodman();
      c = await inContainer(podman);
      ({ results, fresh } = c);
    }, 180_000);

    afterAll(async () => {
      await fresh?.dispose();
      await podman?.cleanup();
    });

    it("is the chroot runner and says it has no mounts", () => {
      expect([results.name, results.mode]).toEqual(["chroot", "plain"]);
      expect(results.limitations.join("\n")).toContain("no mount namespace");
      console.log(`chroot runner limitations in a plain container:\n  ${results.limitations.join("\n  ")}`);
    });

    it("runs as the image's user with devices and the container's resolv.conf, and cleans up", async () => {
      expect(results.runs[0]).toEqual({
        exitCode: 0,
        out: ["1000", "1000 50", "no-proc", "null-ok", "4", ...c.containerResolv.trimEnd().split("\n")],
      });
      const st = await stat(join(fresh.rootfs, "home", "user", "by-user"));
      expect([st.uid, st.gid]).toEqual([1000, 1000]);
      expect((await stat(join(fresh.rootfs, "home", "user", "w"))).uid).toBe(1000);
      await expect(lstat(join(fresh.rootfs, "dev"))).rejects.toMatchObject({ code: "ENOENT" });
      expect(await readFile(join(fresh.rootfs, "etc", "resolv.conf"), "utf8")).toBe(
        "nameserver 192.0.2.53\n",
      );
      expect((await stat(join(fresh.rootfs, "etc", "resolv.conf"), { bigint: true })).mtimeNs).toBe(
        c.resolvBefore,
      );
    });

    it("propagates exit codes, refuses --network=none, aborts", () => {
      expect(results.runs[1]).toEqual({ exitCode: 42, out: [] });
      expect(results.runs[2]).toMatchObject({ error: "MOLT_RUN_UNSUPPORTED" });
      expect(results.runs[3]).toMatchObject({ error: "MOLT_ABORTED", out: ["started"] });
    });
  },
);

describe.skipIf(skipReason !== undefined)(
  "chroot runner in a plain container where root has subordinate ids: a user namespace",
  () => {
    let podman: Podman;
    let c: Awaited<ReturnType<typeof inContainer>>;

    beforeAll(async () => {
      podman = await createPodman();
      // Subordinate ids for root inside the container (its / is an overlay: the host's files stay).
      c = await inContainer(podman, "echo root:1:65535 > /etc/subuid; echo root:1:65535 > /etc/subgid;");
    }, 180_000);

    afterAll(async () => {
      await c?.fresh.dispose();
      await podman?.cleanup();
    });

    it("auto picks chroot in a user namespace with ids mapped to themselves", () => {
      expect([c.results.name, c.results.mode]).toEqual(["chroot", "user-namespace"]);
      console.log(
        `chroot runner limitations in a container with user namespaces:\n  ${c.results.limitations.join("\n  ")}`,
      );
    });

    it("runs USER user with bound devices and resolv.conf; files are owned by 1000 on disk; nothing left", async () => {
      // A new /proc stays refused: the container's own /proc has masked paths, and the kernel lets
      // a user namespace mount proc only where a fully visible one exists.
      expect(c.results.limitations).toContain("no /proc for commands (mount refused)");
      expect(c.results.runs[0]).toEqual({
        exitCode: 0,
        out: ["1000", "1000 50", "no-proc", "null-ok", "4", ...c.containerResolv.trimEnd().split("\n")],
      });
      const st = await stat(join(c.fresh.rootfs, "home", "user", "by-user"));
      expect([st.uid, st.gid]).toEqual([1000, 1000]);
      expect((await stat(join(c.fresh.rootfs, "home", "user", "w"))).uid).toBe(1000);
      for (const p of ["proc", "sys", "dev"]) {
        await expect(lstat(join(c.fresh.rootfs, p)), p).rejects.toMatchObject({ code: "ENOENT" });
      }
      expect(await readFile(join(c.fresh.rootfs, "etc", "resolv.conf"), "utf8")).toBe(
        "nameserver 192.0.2.53\n",
      );
      expect(await mountsUnder(c.fresh.rootfs)).toEqual([]);
    });

    it("propagates exit codes, isolates the network, aborts", () => {
      expect(c.results.runs[1]).toEqual({ exitCode: 42, out: [] });
      expect(c.results.runs[2]).toEqual({ exitCode: 0, out: ["lo"] });
      expect(c.results.runs[3]).toMatchObject({ error: "MOLT_ABORTED", out: ["started"] });
    });
  },
);
