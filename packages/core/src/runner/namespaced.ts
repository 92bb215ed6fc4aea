import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import createDebug from "debug";
import { enterCommand, needsUserSwitch } from "./command-line.js";
import { type HostCapabilities, ROOT_NS, USER_NS } from "./detect.js";
import { makeDevDir } from "./dev-skeleton.js";
import { RunnerSetupError, RunUnsupportedError } from "./errors.js";
import { fstabLines, IN_DEV, MOUNT_LABEL, MOUNTS, type MountId, setupScript } from "./mount-plan.js";
import { prepareMountPoints, restoreMountPoints } from "./mount-points.js";
import { runProcess } from "./process.js";
import { mkdirInRoot } from "./root-path.js";
import type { RunOutcome, RunSpec } from "./types.js";

const debug = createDebug("molt:run");

const HOST_ENV = { PATH: "/usr/sbin:/usr/bin:/sbin:/bin", LC_ALL: "C" };

/** The mounts a namespaced run will make, from what the probe found to work. */
export function chooseMounts(available: ReadonlySet<MountId>): Set<MountId> {
  const want = new Set<MountId>();
  for (const id of MOUNTS) {
    if (!available.has(id)) continue;
    if (id === "sys-bind" && want.has("sys")) continue;
    if (IN_DEV.includes(id) && !available.has("dev")) continue;
    want.add(id);
  }
  return want;
}

/** What a namespaced runner cannot give, from the probe's results. */
export function missingMounts(available: ReadonlySet<MountId>): string[] {
  const out: string[] = [];
  for (const id of MOUNTS) {
    if (id === "sys-bind") continue;
    if (id === "sys" && (available.has("sys") || available.has("sys-bind"))) continue;
    if (!available.has(id)) out.push(`no ${MOUNT_LABEL[id]} for commands (mount refused)`);
  }
  return out;
}

/**
 * Runs `spec` in new mount + PID (+ network) namespaces — as real root (`mode: "root"`) or in a
 * user namespace mapping this uid to root (`mode: "user"`): a host `sh` as PID 1 mounts what
 * the probe allowed onto the root, then runs {@link enterCommand}; when it exits the kernel
 * kills every process of the namespace and drops every mount with it. Mount points that had to
 * be created in the root are removed afterwards and their parents' mtimes restored.
 */
export async function runNamespaced(
  caps: HostCapabilities,
  mode: "root" | "user",
  spec: RunSpec,
): Promise<RunOutcome> {
  const tools = caps.tools;
  if (!tools.unshare || !tools.sh || !tools.mount || !tools.cp)
    throw new RunnerSetupError("unshare, sh, mount and cp are required");
  const none = spec.network === "none";
  if (none && !(mode === "root" ? caps.netNamespace : caps.userNetNamespace)) {
    throw new RunUnsupportedError("--network=none needs a network namespace, which this host refuses");
  }
  if (mode === "user" && (spec.user.uid !== 0 || spec.user.gid !== 0 || spec.user.groups.length > 0)) {
    throw new RunUnsupportedError(
      `the rootless runner maps only your own uid (to root); it cannot run as uid ${spec.user.uid} gid ${spec.user.gid}${
        spec.user.groups.length ? ` groups ${spec.user.groups.join(",")}` : ""
      } (that needs newuidmap/newgidmap and /etc/subuid ranges)`,
    );
  }
  const available =
    mode === "root" ? (none ? caps.mountsNet : caps.mounts) : none ? caps.userMountsNet : caps.userMounts;
  const transient = spec.transientFiles ?? [];
  const wanted = chooseMounts(available);
  if (transient.length > 0 && !wanted.has("dev")) {
    throw new RunUnsupportedError("cannot provide /dev/pipes for a heredoc script on this host");
  }

  const t0 = performance.now();
  const wd = await mkdirInRoot(spec.rootfs, spec.cwd, mode === "root" ? spec.user : undefined);
  const mp = prepareMountPoints(spec.rootfs, wanted);
  for (const id of mp.skipped.keys()) wanted.delete(id);
  const tmp = mkdtempSync(join(tmpdir(), "molt-run-"));
  try {
    const devDir = wanted.has("dev") ? makeDevDir(tmp, transient) : "";
    const lines = MOUNTS.filter((id) => wanted.has(id)).flatMap((id) =>
      fstabLines(id, spec.rootfs, { rootless: mode === "user", devDir }),
    );
    const fstab = join(tmp, "fstab");
    writeFileSync(fstab, lines.length ? `${lines.join("\n")}\n` : "");
    const args = [
      ...(mode === "root" ? ROOT_NS : USER_NS),
      ...(none ? ["--net"] : []),
      "--",
      tools.sh,
      "-c",
      setupScript({ mount: tools.mount }),
      "molt-run",
      fstab,
      none && tools.ip ? tools.ip : "",
      ...enterCommand(tools, spec, spec.rootfs, wd, mode === "root" && needsUserSwitch(spec.user)),
    ];
    debug("prepared in %d ms", Math.round(performance.now() - t0));
    return await runProcess({ file: tools.unshare, args, env: HOST_ENV }, spec);
  } finally {
    const t1 = performance.now();
    await restoreMountPoints(mp, tools.touch);
    rmSync(tmp, { recursive: true, force: true });
    debug(
      "cleaned up in %d ms (total %d ms)",
      Math.round(performance.now() - t1),
      Math.round(performance.now() - t0),
    );
  }
}
