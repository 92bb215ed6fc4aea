import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { makeOwnedTempDir, removeOwnedTempDirSync } from "@molt/oci";
import createDebug from "debug";
import { mountFstabLines } from "../mounts/fstab.js";
import { type MountTargets, prepareTargets, removeTargets } from "../mounts/targets.js";
import { prepareTargetsInUserNs, removeTargetsInUserNs, targetDenied } from "../mounts/userns-targets.js";
import { enterCommand, groupsOnlySwitch, hostEnv, needsUserSwitch } from "./command-line.js";
import { type HostCapabilities, ROOT_NS, userNs } from "./detect.js";
import { makeDevDir } from "./dev-skeleton.js";
import { RunnerSetupError, RunUnsupportedError } from "./errors.js";
import { containerToHostId } from "./id-map.js";
import {
  fstabLines,
  IN_DEV,
  MOUNT_LABEL,
  MOUNTS,
  type MountId,
  setupScript,
  WD_PLACEHOLDER,
} from "./mount-plan.js";
import { prepareMountPoints, restoreMountPoints } from "./mount-points.js";
import { runProcess } from "./process.js";
import { mkdirInRoot } from "./root-path.js";
import { runScratchParent } from "./scratch-dir.js";
import type { RunOutcome, RunSpec } from "./types.js";

const debug = createDebug("molt:run");

/**
 * Translates this process's view of a path in process `pid`'s mount namespace
 * (`/proc/<pid>/root/<path>`) to the path inside that namespace; identity without a pid.
 */
export function namespacePaths(pid: number | undefined): (path: string) => string {
  if (pid === undefined) return (p) => p;
  const prefix = `/proc/${pid}/root`;
  return (p) => (p === prefix ? "/" : p.startsWith(`${prefix}/`) ? p.slice(prefix.length) : p);
}

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
  if (!tools.unshare || !tools.sh || !tools.mount)
    throw new RunnerSetupError("unshare, sh and mount are required");
  const none = spec.network === "none";
  if (none && !(mode === "root" ? caps.netNamespace : caps.userNetNamespace)) {
    throw new RunUnsupportedError("--network=none needs a network namespace, which this host refuses");
  }
  const isRoot = spec.user.uid === 0 && spec.user.gid === 0 && spec.user.groups.length === 0;
  if (mode === "user" && !isRoot) {
    const map = caps.userIdMap;
    const unmapped = [
      ...(containerToHostId(map, "uid", spec.user.uid) === undefined ? [`uid ${spec.user.uid}`] : []),
      ...[spec.user.gid, ...spec.user.groups]
        .filter((g) => containerToHostId(map, "gid", g) === undefined)
        .map((g) => `gid ${g}`),
    ];
    if (unmapped.length > 0) {
      throw new RunUnsupportedError(
        caps.subordinateIds
          ? `the rootless runner cannot run as ${unmapped.join(", ")}: outside the ids /etc/subuid and /etc/subgid give you`
          : `the rootless runner maps only your own uid (to root); it cannot run as ${unmapped.join(", ")} (that needs newuidmap/newgidmap and /etc/subuid, /etc/subgid ranges)`,
      );
    }
  }
  const available =
    mode === "root" ? (none ? caps.mountsNet : caps.mounts) : none ? caps.userMountsNet : caps.userMounts;
  const transient = spec.transientFiles ?? [];
  const wanted = chooseMounts(available);
  if (transient.length > 0 && !wanted.has("dev")) {
    throw new RunUnsupportedError("cannot provide /dev/pipes for a heredoc script on this host");
  }

  const t0 = performance.now();
  // A root seen through /proc/<pid>/root (an overlay held in that process's private mount
  // namespace): the command is started in that namespace, where the same tree has the path
  // without the prefix, and every path it is given is translated so.
  const inNs = namespacePaths(spec.mountNamespacePid);
  // Rootless: the setup script, root inside the namespace, resolves and creates the working
  // directory (molt itself may not even look into directories the image's users own).
  if (mode === "user" && (!tools.mkdir || !tools.chown || !tools.readlink)) {
    throw new RunnerSetupError("mkdir, chown and readlink (coreutils) are required");
  }
  const wd =
    mode === "root"
      ? await mkdirInRoot(spec.rootfs, spec.cwd, spec.user)
      : WD_PLACEHOLDER.slice("--wd=".length);
  const mp = prepareMountPoints(spec.rootfs, wanted);
  for (const id of mp.skipped.keys()) wanted.delete(id);
  const tmp = makeOwnedTempDir(runScratchParent(), "molt-run-");
  let targets: MountTargets | undefined;
  try {
    const devDir = wanted.has("dev") ? makeDevDir(tmp, transient) : "";
    const lines = MOUNTS.filter((id) => wanted.has(id)).flatMap((id) =>
      fstabLines(id, inNs(spec.rootfs), { rootless: mode === "user", devDir }),
    );
    if (spec.mounts && spec.mounts.length > 0) {
      try {
        targets = await prepareTargets(spec.rootfs, spec.mounts);
      } catch (e) {
        // Rootless, under a directory an image's user owns (say /home/app): root of the
        // namespace may create there, this process may not.
        if (mode !== "user" || !targetDenied(e)) throw e;
        targets = await prepareTargetsInUserNs(tools, caps.subordinateIds, spec.rootfs, spec.mounts);
      }
      lines.push(...mountFstabLines(spec.mounts, targets.hostTargets.map(inNs)));
    }
    // Root building as root: only the supplementary groups change, set by the first setpriv.
    const groups = mode === "root" && tools.setpriv ? groupsOnlySwitch(spec.user) : undefined;
    const fstab = join(tmp, "fstab");
    writeFileSync(fstab, lines.length ? `${lines.join("\n")}\n` : "");
    const args = [
      ...(mode === "root" ? ROOT_NS : userNs(caps.subordinateIds)),
      ...(none ? ["--net"] : []),
      "--",
      tools.sh,
      "-c",
      setupScript({ mount: tools.mount }),
      "molt-run",
      fstab,
      none && tools.ip ? tools.ip : "",
      `${spec.user.uid}:${spec.user.gid}`,
      mode === "user" ? spec.cwd : "",
      spec.rootfs === "/" ? "" : inNs(spec.rootfs),
      tools.readlink ?? "readlink",
      tools.mkdir ?? "mkdir",
      tools.chown ?? "chown",
      ...enterCommand(
        tools,
        spec,
        inNs(spec.rootfs),
        mode === "root" ? inNs(wd) : wd,
        mode === "root" ? !groups && needsUserSwitch(spec.user) : caps.subordinateIds,
      ),
    ];
    debug("prepared in %d ms", Math.round(performance.now() - t0));
    // setpriv --pdeathsig: if molt itself dies (even by SIGKILL), unshare is killed, which kills
    // the namespace's init (--kill-child) and with it every process and mount of the command.
    // Its --groups (root as root) gives the whole chain the command's supplementary groups.
    // nsenter -m (which execs, as it enters no PID namespace) first enters the namespace that
    // holds the root's overlay, so the command's namespace is a copy of that one.
    const enter =
      spec.mountNamespacePid !== undefined
        ? [tools.nsenter!, `--target=${spec.mountNamespacePid}`, "--mount", "--", tools.unshare]
        : [tools.unshare];
    const plan = tools.setpriv
      ? {
          file: tools.setpriv,
          args: [
            "--pdeathsig=KILL",
            ...(groups ? [`--groups=${groups.join(",")}`] : []),
            "--",
            ...enter,
            ...args,
          ],
          env: hostEnv(spec),
        }
      : { file: enter[0]!, args: [...enter.slice(1), ...args], env: hostEnv(spec) };
    return await runProcess(plan, spec);
  } finally {
    const t1 = performance.now();
    if (targets?.inUserNamespace)
      await removeTargetsInUserNs(tools, caps.subordinateIds, targets).catch((e: Error) =>
        debug("removing mount targets: %s", e.message),
      );
    else if (targets) await removeTargets(targets, tools.touch);
    await restoreMountPoints(mp, tools.touch);
    removeOwnedTempDirSync(tmp);
    debug(
      "cleaned up in %d ms (total %d ms)",
      Math.round(performance.now() - t1),
      Math.round(performance.now() - t0),
    );
  }
}
