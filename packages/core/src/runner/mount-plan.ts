import type { HostTools } from "./host-tools.js";
import { shQuote } from "./host-tools.js";
import { SETUP_FAILED_MARKER } from "./process.js";

/**
 * The mounts a namespaced run can give the command, in the order they are made (one
 * `mount -a` over a per-run fstab): `proc`, `sys` (sysfs) or `sys-bind` (the host's /sys),
 * `dev` (a per-run directory prepared on the host, see `makeDevDir`), then inside it the host's
 * device nodes, a new `devpts`, a `shm` tmpfs, and the host's resolv.conf and hosts.
 */
export type MountId = "proc" | "sys" | "sys-bind" | "dev" | "devices" | "pts" | "shm" | "resolv" | "hosts";

/** Every mount, in mount order. */
export const MOUNTS: readonly MountId[] = [
  "proc",
  "sys",
  "sys-bind",
  "dev",
  "devices",
  "pts",
  "shm",
  "resolv",
  "hosts",
];
/** Mounts that land inside the `dev` mount. */
export const IN_DEV: readonly MountId[] = ["devices", "pts", "shm"];
/** Device nodes bound from the host into the command's `/dev`. */
export const DEVICES = ["null", "zero", "full", "random", "urandom", "tty"] as const;

/** What the mounts provide, for `limitations`. */
export const MOUNT_LABEL: Record<MountId, string> = {
  proc: "/proc",
  sys: "/sys (sysfs)",
  "sys-bind": "/sys",
  dev: "/dev",
  devices: "/dev/null, zero, full, random, urandom, tty",
  pts: "/dev/pts",
  shm: "/dev/shm",
  resolv: "/etc/resolv.conf from the host",
  hosts: "/etc/hosts from the host",
};

/** fstab escaping: space, tab, newline and backslash as octal. */
function esc(p: string): string {
  return p.replace(/[ \t\n\\]/g, (c) => `\\${c.charCodeAt(0).toString(8).padStart(3, "0")}`);
}

/** The fstab lines of one mount into root `root` (a host path). */
export function fstabLines(
  id: MountId,
  root: string,
  options: { rootless: boolean; devDir: string },
): string[] {
  const r = root === "/" ? "" : root;
  const line = (src: string, target: string, type: string, opts: string) =>
    `${esc(src)} ${esc(`${r}${target}`)} ${type} ${opts} 0 0`;
  switch (id) {
    case "proc":
      return [line("proc", "/proc", "proc", "nosuid,nodev,noexec")];
    case "sys":
      return [line("sysfs", "/sys", "sysfs", "ro,nosuid,nodev,noexec")];
    case "sys-bind":
      // In a user namespace the host's sysfs cannot be written anyway, and a read-only remount of
      // its locked submounts is refused.
      return [line("/sys", "/sys", "none", options.rootless ? "rbind" : "rbind,ro")];
    case "dev":
      return [line(options.devDir, "/dev", "none", "bind")];
    case "devices":
      return DEVICES.map((d) => line(`/dev/${d}`, `/dev/${d}`, "none", "bind"));
    case "pts":
      return [
        line(
          "devpts",
          "/dev/pts",
          "devpts",
          options.rootless
            ? "newinstance,ptmxmode=0666,mode=0620,nosuid,noexec"
            : "newinstance,ptmxmode=0666,mode=0620,gid=5,nosuid,noexec",
        ),
      ];
    case "shm":
      return [line("shm", "/dev/shm", "tmpfs", "nosuid,nodev,noexec,mode=1777,size=65536k")];
    case "resolv":
      return [line("/etc/resolv.conf", "/etc/resolv.conf", "none", "bind,ro")];
    case "hosts":
      return [line("/etc/hosts", "/etc/hosts", "none", "bind,ro")];
  }
}

/** The placeholder of nsenter's `--wd=` that the setup script replaces when it resolves the working directory. */
export const WD_PLACEHOLDER = "--wd=@molt-wd@";

/**
 * The host shell script that runs as PID 1 of the new namespaces:
 * 1. mounts everything of the fstab `$1` (when not empty);
 * 2. brings `lo` up with `$2` when given;
 * 3. when `$4` (a container path) is given: resolves it inside the root `$5` the way the kernel
 *    would after a chroot (symlinks read with `$6`, `..` never above the root), creates what is
 *    missing with `$7` (mode 0755) and gives it to `$3` with `$8`, and puts the host path into
 *    the {@link WD_PLACEHOLDER} argument. Rootless runs do this here, as the namespace's root,
 *    because molt itself may not even look into directories the image's users own;
 * 4. runs the rest of its arguments (the command composition) as its child and exits with its
 *    status, which tears the namespaces and every mount down.
 * A failure prints {@link SETUP_FAILED_MARKER} and exits 125.
 */
export function setupScript(tools: Required<Pick<HostTools, "mount">>): string {
  return [
    `fail() { echo "${SETUP_FAILED_MARKER} $*" >&2; exit 125; }`,
    `if [ -s "$1" ]; then ${shQuote(tools.mount)} -a -T "$1" || fail "mounting /proc, /sys, /dev, resolv.conf, hosts or a RUN --mount"; fi`,
    `if [ -n "$2" ]; then "$2" link set lo up || fail "bringing lo up"; fi`,
    'own="$3"; rest="$4"; root="$5"; readlink_="$6"; mkdir_="$7"; chown_="$8"; shift 8',
    'if [ -n "$rest" ]; then',
    '  cur=""; links=0',
    '  while [ -n "$rest" ]; do',
    // biome-ignore lint/suspicious/noTemplateCurlyInString: shell parameter expansion, not a template
    '    c="${rest%%/*}"; case "$rest" in */*) rest="${rest#*/}" ;; *) rest="" ;; esac',
    // biome-ignore lint/suspicious/noTemplateCurlyInString: shell parameter expansion, not a template
    '    case "$c" in "" | .) continue ;; ..) cur="${cur%/*}"; continue ;; esac',
    '    p="$root$cur/$c"',
    '    if [ -L "$p" ]; then',
    '      links=$((links + 1)); [ "$links" -le 40 ] || fail "too many symbolic links in the working directory"',
    '      t="$("$readlink_" -- "$p")" || fail "reading $p"',
    '      case "$t" in /*) cur="" ;; esac',
    '      rest="$t/$rest"',
    '    elif [ -d "$p" ]; then cur="$cur/$c"',
    '    elif [ -e "$p" ]; then fail "the working directory is not a directory"',
    '    else "$mkdir_" -m 755 -- "$p" && "$chown_" -h -- "$own" "$p" || fail "creating the working directory"; cur="$cur/$c"',
    "    fi",
    "  done",
    `  n=$#; while [ "$n" -gt 0 ]; do a="$1"; shift; [ "$a" = "${WD_PLACEHOLDER}" ] && a="--wd=$root\${cur:-/}"; set -- "$@" "$a"; n=$((n - 1)); done`,
    "fi",
    '"$@"',
    "exit $?",
  ].join("\n");
}

/**
 * The quick probe script: mounts the fstab `$1` (every mount, in mount order: what a run mounts)
 * with one `mount -a` and, when all of it works, prints `ok:<id>` for each id of the rest of its
 * arguments; else it exits 1 and {@link probeScript} tries them one by one, in a fresh namespace.
 * One `mount` instead of one per mount: on most hosts everything works, and each `mount` run is
 * a few milliseconds of the build's start (issue 16).
 */
export function probeAllScript(tools: Required<Pick<HostTools, "mount">>): string {
  return [
    `${shQuote(tools.mount)} -a -T "$1" 2>/dev/null || exit 1`,
    "shift",
    'for id in "$@"; do echo "ok:$id"; done',
  ].join("\n");
}

/** The probe script: tries each mount of `$@` (pairs `id fstab-file`) in order, printing `ok:<id>` for those that work. */
export function probeScript(tools: Required<Pick<HostTools, "mount">>): string {
  return [
    'while [ "$#" -gt 1 ]; do',
    `  if ${shQuote(tools.mount)} -a -T "$2" 2>/dev/null; then echo "ok:$1"; fi`,
    "  shift 2",
    "done",
  ].join("\n");
}
