import { stat } from "node:fs/promises";
import createDebug from "debug";
import { userNs } from "../runner/detect.js";
import { RunnerSetupError } from "../runner/errors.js";
import { run as exec } from "../runner/exec.js";
import type { HostTools } from "../runner/host-tools.js";
import type { MountTargets } from "./targets.js";
import type { RunMount } from "./types.js";

const debug = createDebug("molt:mounts");

/**
 * Resolves each target (`$2 $3`, `$4 $5`, …: kind `d`/`f` and container path) inside the root
 * `$1` the way the kernel would after a chroot (symlinks followed, `..` never above the root),
 * creating what is missing (directories 0755, an empty 0644 file for a file source) as root of
 * the user namespace. Prints `P <mtime> <dir>` for each parent before its first creation,
 * `C <d|f> <path>` per creation, `T <host path>` per target, and at the end `A <mtime> <dir>`.
 */
const MAKE = `
fail() { echo "$*" >&2; exit 1; }
root="$1"; shift; parents="
"
while [ "$#" -ge 2 ]; do
  kind="$1"; rest="$2"; shift 2; cur=""; links=0
  while [ -n "$rest" ]; do
    c="\${rest%%/*}"; case "$rest" in */*) rest="\${rest#*/}" ;; *) rest="" ;; esac
    case "$c" in "" | .) continue ;; ..) cur="\${cur%/*}"; continue ;; esac
    p="$root$cur/$c"
    if [ -L "$p" ]; then
      links=$((links + 1)); [ "$links" -le 40 ] || fail "too many symbolic links in the mount target $2"
      t="$(readlink -- "$p")" || fail "cannot read $p"
      case "$t" in /*) cur="" ;; esac
      rest="$t/$rest"
    elif [ -e "$p" ]; then cur="$cur/$c"
    else
      par="$root$cur"; [ -n "$par" ] || par=/
      case "$parents" in *"
$par
"*) ;; *) echo "P $(stat -c %.9Y -- "$par") $par" || exit 1; parents="$parents$par
" ;; esac
      if [ -z "$rest" ] && [ "$kind" = f ]; then
        (umask 022; : > "$p") || fail "cannot create the mount target $p"; echo "C f $p"
      else
        mkdir -m 755 -- "$p" || fail "cannot create the mount target $p"; echo "C d $p"
      fi
      cur="$cur/$c"
    fi
  done
  p="$root$cur"
  if [ "$kind" = d ] && [ ! -d "$p" ]; then fail "cannot mount a directory on \${cur:-/}: it is not a directory in the image"; fi
  if [ "$kind" = f ] && [ -d "$p" ]; then fail "cannot mount a file on \${cur:-/}: it is a directory in the image"; fi
  echo "T $p"
done
printf %s "$parents" | while IFS= read -r par; do [ -z "$par" ] || echo "A $(stat -c %.9Y -- "$par") $par"; done
`;

/**
 * Undoes {@link MAKE}: `$1` parents as triples `dir before after`, then `kind path` pairs
 * (deepest first). Notes each parent's mtime, removes what is still empty, then puts each
 * parent's mtime back (to `before` unless the command changed the directory itself).
 */
const UNDO = `
n=$(($1 * 3)); shift; nows=""; j=0
for a in "$@"; do [ "$j" -lt "$n" ] || break; [ $((j % 3)) -ne 0 ] || nows="$nows$(stat -c %.9Y -- "$a" 2>/dev/null || echo -) "; j=$((j + 1)); done
j=0; k=""
for a in "$@"; do
  if [ "$j" -ge "$n" ]; then
    if [ -z "$k" ]; then k="$a"
    else
      if [ "$k" = d ]; then rmdir -- "$a" 2>/dev/null; elif [ -f "$a" ] && [ ! -s "$a" ]; then rm -f -- "$a"; fi
      k=""
    fi
  fi
  j=$((j + 1))
done
j=0; p=""; before=""
for a in "$@"; do
  [ "$j" -lt "$n" ] || break
  case $((j % 3)) in
    0) p="$a" ;;
    1) before="$a" ;;
    2) now="\${nows%% *}"; nows="\${nows#* }"
       if [ "$now" != - ] && [ -d "$p" ]; then
         [ "$now" = "$a" ] && want="$before" || want="$now"
         touch -c -m -d "@$want" -- "$p"
       fi ;;
  esac
  j=$((j + 1))
done
exit 0
`;

/** True for the errors that mean this process may not create or look at a target. */
export function targetDenied(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException).code;
  return code === "EACCES" || code === "EPERM";
}

/** Runs `script` with `args` as root of a user namespace with this runner's id mapping. */
async function inUserNs(
  tools: HostTools,
  subordinateIds: boolean,
  script: string,
  args: string[],
): Promise<string> {
  const r = await exec(tools.unshare!, [
    ...userNs(subordinateIds),
    "--",
    tools.sh!,
    "-c",
    script,
    "molt-targets",
    ...args,
  ]);
  if (r.code !== 0)
    throw new RunnerSetupError(r.stderr.trim() || `creating mount targets failed (${r.code})`);
  return r.stdout;
}

/**
 * {@link prepareTargets} for a rootless run whose targets lie under directories this process may
 * not write or even read (owned by a subordinate id of the image, such as `/home/app`): the
 * targets are resolved and created by root of a user namespace with the run's mapping (the
 * owner of those ids there), one program for all of them. Undo with {@link removeTargetsInUserNs}.
 */
export async function prepareTargetsInUserNs(
  tools: HostTools,
  subordinateIds: boolean,
  root: string,
  mounts: readonly RunMount[],
): Promise<MountTargets> {
  const args: string[] = [root === "/" ? "" : root];
  for (const m of mounts) {
    if (m.target.includes("\n"))
      throw new RunnerSetupError(`cannot create the mount target ${JSON.stringify(m.target)}`);
    const dir = m.type === "tmpfs" || (await stat(m.source)).isDirectory();
    args.push(dir ? "d" : "f", m.target);
  }
  const out = await inUserNs(tools, subordinateIds, MAKE, args);
  const t: MountTargets = { hostTargets: [], created: [], parents: new Map(), inUserNamespace: true };
  for (const line of out.split("\n")) {
    const [tag, rest] = [line.slice(0, 1), line.slice(2)];
    if (tag === "T") t.hostTargets.push(rest || "/");
    else if (tag === "C") t.created.push({ path: rest.slice(2), dir: rest.startsWith("d") });
    else if (tag === "P" || tag === "A") {
      const sp = rest.indexOf(" ");
      const [time, path] = [rest.slice(0, sp), rest.slice(sp + 1) || "/"];
      const p = t.parents.get(path) ?? { before: 0n };
      if (tag === "P") t.parents.set(path, { ...p, before: nanos(time) });
      else t.parents.set(path, { ...p, after: nanos(time) });
    }
  }
  if (t.hostTargets.length !== mounts.length) {
    await removeTargetsInUserNs(tools, subordinateIds, t).catch(() => {});
    throw new RunnerSetupError("creating mount targets in the user namespace failed");
  }
  debug("mount targets made in the user namespace: %d created", t.created.length);
  return t;
}

/** `1700000000.123456789` (stat's `%.9Y`) as nanoseconds. */
function nanos(s: string): bigint {
  const [sec = "0", frac = ""] = s.split(".");
  return BigInt(sec) * 1_000_000_000n + BigInt(frac.padEnd(9, "0").slice(0, 9) || "0");
}

function stamp(ns: bigint): string {
  const s = ns / 1_000_000_000n;
  return `${s}.${(ns - s * 1_000_000_000n).toString().padStart(9, "0")}`;
}

/** Undoes {@link prepareTargetsInUserNs} (the same rules as {@link removeTargets}). */
export async function removeTargetsInUserNs(
  tools: HostTools,
  subordinateIds: boolean,
  t: MountTargets,
): Promise<void> {
  if (t.created.length === 0) return;
  const parents = [...t.parents].filter(([, p]) => p.after !== undefined);
  const args = [String(parents.length)];
  for (const [dir, p] of parents) args.push(dir, stamp(p.before), stamp(p.after!));
  for (const c of [...t.created].reverse()) args.push(c.dir ? "d" : "f", c.path);
  await inUserNs(tools, subordinateIds, UNDO, args);
}
