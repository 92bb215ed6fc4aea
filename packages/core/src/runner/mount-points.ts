import {
  lstatSync,
  mkdirSync,
  rmdirSync,
  rmSync,
  statSync,
  unlinkSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { perlHelper } from "../mounts/perl-helper.js";
import { run as exec } from "./exec.js";
import { IN_DEV, type MountId } from "./mount-plan.js";

/** What a run created in the root so that mounts had somewhere to land; undone by {@link restoreMountPoints}. */
export interface MountPoints {
  /** Host paths created, in creation order. */
  created: string[];
  /** Parent directories whose mtime must be put back: before creation and right after it. */
  parents: Map<string, { before: bigint; after?: bigint }>;
  /** Mounts that cannot be made in this root, with the reason. */
  skipped: Map<MountId, string>;
}

function kind(p: string): "dir" | "file" | "missing" | "other" {
  try {
    const st = lstatSync(p);
    if (st.isDirectory()) return "dir";
    if (st.isFile()) return "file";
    return "other";
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return "missing";
    throw e;
  }
}

function mtime(p: string): bigint {
  return statSync(p, { bigint: true }).mtimeNs;
}

/** Creates `path` (a directory or an empty file) in `parent`, remembering the parent's mtime. */
function create(mp: MountPoints, parent: string, path: string, as: "dir" | "file"): void {
  if (!mp.parents.has(parent)) mp.parents.set(parent, { before: mtime(parent) });
  if (as === "dir") mkdirSync(path, { mode: 0o755 });
  else writeFileSync(path, "", { mode: 0o644, flag: "wx" });
  mp.created.push(path);
}

/**
 * Makes sure every wanted mount has a target in `root` (a host path): `/proc`, `/sys`, `/dev`
 * directories and `/etc/resolv.conf`, `/etc/hosts` files. Missing ones are created (and
 * recorded); a target that is a symlink or of the wrong type is not touched and the mount is
 * skipped, so nothing is ever mounted through a link out of the root.
 */
export function prepareMountPoints(root: string, wanted: ReadonlySet<MountId>): MountPoints {
  const mp: MountPoints = { created: [], parents: new Map(), skipped: new Map() };
  const r = root === "/" ? "" : root;
  const rootDir = root;
  const dirFor: Partial<Record<MountId, string>> = {
    proc: "proc",
    sys: "sys",
    "sys-bind": "sys",
    dev: "dev",
  };
  for (const [id, name] of Object.entries(dirFor) as [MountId, string][]) {
    if (!wanted.has(id)) continue;
    const p = `${r}/${name}`;
    const k = kind(p);
    if (k === "missing") {
      if (!mp.created.includes(p)) create(mp, rootDir, p, "dir");
    } else if (k !== "dir") mp.skipped.set(id, `/${name} in the image is not a directory`);
  }
  if (mp.skipped.has("dev")) for (const id of IN_DEV) mp.skipped.set(id, "no /dev");
  const files = (["resolv", "hosts"] as const).filter((id) => wanted.has(id));
  if (files.length > 0) {
    const etc = `${r}/etc`;
    const k = kind(etc);
    if (k === "missing") create(mp, rootDir, etc, "dir");
    if (k === "missing" || k === "dir") {
      for (const id of files) {
        const name = id === "resolv" ? "resolv.conf" : "hosts";
        const p = `${etc}/${name}`;
        const fk = kind(p);
        if (fk === "missing") create(mp, etc, p, "file");
        else if (fk !== "file") mp.skipped.set(id, `/etc/${name} in the image is a symlink or not a file`);
      }
    } else for (const id of files) mp.skipped.set(id, "/etc in the image is not a directory");
  }
  for (const [parent, t] of mp.parents) t.after = mtime(parent);
  return mp;
}

function touchArg(ns: bigint): string {
  const s = ns / 1_000_000_000n;
  const frac = (ns % 1_000_000_000n).toString().padStart(9, "0");
  return `@${s}.${frac}`;
}

/**
 * Sets a path's mtime to exactly `ns` nanoseconds: with `utimes` when it is whole seconds (a
 * double holds those exactly; layers' mtimes usually are), else through this process's perl
 * helper (utimensat(2), no program started), else with `touch -d @s.ns`.
 */
export async function setMtime(path: string, ns: bigint, touch: string | undefined): Promise<void> {
  if (ns % 1_000_000_000n === 0n) {
    const st = statSync(path, { bigint: true });
    utimesSync(path, Number(st.atimeNs / 1_000_000_000n), Number(ns / 1_000_000_000n));
    return;
  }
  if (await (await perlHelper())?.setMtime(path, ns)) return;
  if (touch) await exec(touch, ["-c", "-m", "-d", touchArg(ns), path]);
}

/**
 * Removes a mount point made by {@link create}: one `rmdir` (or `unlink`) when it is still the empty
 * directory (or file, or a link the command put there), which is what it is after nearly every
 * run; a recursive removal when the command left something in it.
 */
function removeCreated(p: string): void {
  try {
    rmdirSync(p);
    return;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return;
    if (code === "ENOTDIR") {
      try {
        unlinkSync(p);
        return;
      } catch (e2) {
        if ((e2 as NodeJS.ErrnoException).code === "ENOENT") return;
      }
    }
  }
  rmSync(p, { recursive: true, force: true });
}

/**
 * Removes what {@link prepareMountPoints} created (after the command's namespace is gone) and
 * puts each parent directory's mtime back: to its value before the run when the command did
 * not change that directory itself, else to the value the command left (nanoseconds kept).
 */
export async function restoreMountPoints(mp: MountPoints, touch: string | undefined): Promise<void> {
  if (mp.created.length === 0) return;
  const now = new Map<string, bigint>();
  for (const parent of mp.parents.keys()) {
    try {
      now.set(parent, mtime(parent));
    } catch {
      // removed by the command
    }
  }
  for (const p of [...mp.created].reverse()) removeCreated(p);
  for (const [parent, t] of mp.parents) {
    const current = now.get(parent);
    if (current === undefined || kind(parent) === "missing") continue;
    await setMtime(parent, current === t.after ? t.before : current, touch);
  }
}
