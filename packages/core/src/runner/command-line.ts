import { readFileSync } from "node:fs";
import { RunnerSetupError } from "./errors.js";
import type { HostTools } from "./host-tools.js";
import type { RunSpec, RunUser } from "./types.js";

/** What the host programs before `env` have in their environment besides secrets (see {@link hostEnv}). */
const HOST_VARS = ["PATH", "LC_ALL", "PWD", "OLDPWD", "SHLVL", "_"];

/** The environment of the host programs of a run: a fixed PATH and locale, plus the secret variables. */
export function hostEnv(spec: Pick<RunSpec, "secretEnv">): Record<string, string> {
  return { PATH: "/usr/sbin:/usr/bin:/sbin:/bin", LC_ALL: "C", ...spec.secretEnv };
}

/**
 * The host command line that enters the root and runs the command, exec'ing all the way:
 * `env -i <spec.env…>` (so the environment is exactly `spec.env`), then — when `switchUser` —
 * `setpriv --regid G --groups G,…` (still root, so it keeps the right to chroot),
 * then `nsenter --root=<root> --wd=<wd> [--setuid=U]`: chroot, fchdir into the working directory
 * opened before the chroot (a host path already resolved inside the root), setuid, and `execvp`
 * of `argv` with `PATH` from the new environment, inside the root. nsenter without namespace
 * options makes no unshare/setns calls, so this also works where seccomp forbids them.
 */
export function enterCommand(
  tools: HostTools,
  spec: Pick<RunSpec, "env" | "argv" | "user" | "secretEnv">,
  root: string | undefined,
  wdHost: string,
  switchUser: boolean,
): string[] {
  if (!tools.env || !tools.nsenter)
    throw new RunnerSetupError("env and nsenter (coreutils, util-linux) are required");
  const secret = Object.keys(spec.secretEnv ?? {});
  const env = spec.env.filter((e) => e.indexOf("=") > 0 && !secret.includes(e.slice(0, e.indexOf("="))));
  // Secret values travel in the host programs' environment, never in argv (which `ps` shows):
  // `env` then unsets everything else instead of starting empty.
  const cmd: string[] =
    secret.length === 0
      ? [tools.env, "-i", ...env]
      : [tools.env, ...HOST_VARS.filter((v) => !secret.includes(v)).flatMap((v) => ["-u", v]), ...env];
  if (switchUser) {
    if (!tools.setpriv) throw new RunnerSetupError("setpriv (util-linux) is required to switch users");
    // The primary group is also a supplementary one, as in Docker and BuildKit (containerd puts
    // the gid first in the additional gids): `id` shows groups=1000(app),2000(grp).
    const { gid, groups } = spec.user;
    cmd.push(tools.setpriv, `--regid=${gid}`, `--groups=${[...new Set([gid, ...groups])].join(",")}`, "--");
  }
  cmd.push(tools.nsenter);
  if (root !== undefined) cmd.push(`--root=${root}`);
  cmd.push(`--wd=${wdHost}`);
  if (switchUser && spec.user.uid !== 0) cmd.push(`--setuid=${spec.user.uid}`);
  cmd.push("--", ...spec.argv);
  return cmd;
}

/**
 * Whether this process must change gid/groups/uid to become `user`: false when it already is
 * exactly that identity (the common case of root builds as root), which saves an exec.
 */
export function needsUserSwitch(user: RunUser): boolean {
  const uid = process.geteuid?.();
  const gid = process.getegid?.();
  if (uid !== user.uid || gid !== user.gid) return true;
  const have = new Set(supplementaryGroups());
  const want = new Set([user.gid, ...user.groups]);
  return have.size !== want.size || [...want].some((g) => !have.has(g));
}

/**
 * The supplementary groups to set, when they are all that differs between this process and
 * `user` (root building as root: the primary group is also a supplementary one, see
 * {@link enterCommand}, and this process usually has none). The runner then sets them with the
 * `setpriv` that starts its chain, which saves the second `setpriv` exec of every RUN.
 */
export function groupsOnlySwitch(user: RunUser): number[] | undefined {
  if (user.uid !== process.geteuid?.() || user.gid !== process.getegid?.()) return undefined;
  if (!needsUserSwitch(user)) return undefined;
  return [...new Set([user.gid, ...user.groups])];
}

let ownGroups: number[] | undefined;

/**
 * This process's supplementary groups as the kernel has them (`Groups:` of /proc/self/status).
 * Not `process.getgroups()`: Node always adds the effective gid to that list, so a root process
 * without supplementary groups would look as if it had group 0, and a RUN under USER root
 * would run without it (busybox `id` then prints no groups=). Read once.
 */
function supplementaryGroups(): number[] {
  if (ownGroups) return ownGroups;
  try {
    const line = /^Groups:(.*)$/m.exec(readFileSync("/proc/self/status", "utf8"));
    if (line) return (ownGroups = line[1]!.trim().split(/\s+/).filter(Boolean).map(Number));
  } catch {
    // no procfs: fall back to what Node reports
  }
  return (ownGroups = process.getgroups?.() ?? []);
}

/** Checks the parts of a spec every runner relies on. */
export function validateSpec(spec: RunSpec): void {
  if (!spec.rootfs.startsWith("/"))
    throw new RunnerSetupError(`rootfs must be an absolute path: ${spec.rootfs}`);
  if (spec.argv.length === 0 || spec.argv[0] === "") throw new RunnerSetupError("RUN needs a command");
  if (!spec.cwd.startsWith("/"))
    throw new RunnerSetupError(`cwd must be an absolute container path: ${spec.cwd}`);
  for (const e of spec.extraFds ?? []) {
    if (!Number.isInteger(e.fd) || e.fd < 3 || e.fd > 255)
      throw new RunnerSetupError(`extra fd ${e.fd} must be 3..255`);
  }
  for (const f of spec.transientFiles ?? []) {
    if (!/^\/dev\/pipes\/[A-Za-z0-9_.-]+$/.test(f.path) || f.path.endsWith("/.") || f.path.endsWith("/..")) {
      throw new RunnerSetupError(`transient files live in /dev/pipes/<name>: ${f.path}`);
    }
  }
}
