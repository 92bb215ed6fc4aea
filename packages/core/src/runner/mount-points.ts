import { lstat, mkdir, rm, stat, writeFile } from "node:fs/promises";
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

async function kind(p: string): Promise<"dir" | "file" | "missing" | "other"> {
  try {
    const st = await lstat(p);
    if (st.isDirectory()) return "dir";
    if (st.isFile()) return "file";
    return "other";
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return "missing";
    throw e;
  }
}

async function mtime(p: string): Promise<bigint> {
  return (await stat(p, { bigint: true })).mtimeNs;
}

/** Creates `path` (a directory or an empty file) in `parent`, remembering the parent's mtime. */
async function create(mp: MountPoints, parent: string, path: string, as: "dir" | "file"): Promise<void> {
  if (!mp.parents.has(parent)) mp.parents.set(parent, { before: await mtime(parent) });
  if (as === "dir") await mkdir(path, { mode: 0o755 });
  else await writeFile(path, "", { mode: 0o644, flag: "wx" });
  mp.created.push(path);
}

/**
 * Makes sure every wanted mount has a target in `root` (a host path): `/proc`, `/sys`, `/dev`
 * directories and `/etc/resolv.conf`, `/etc/hosts` files. Missing ones are created (and
 * recorded); a target that is a symlink or of the wrong type is not touched and the mount is
 * skipped, so nothing is ever mounted through a link out of the root.
 */
export async function prepareMountPoints(root: string, wanted: ReadonlySet<MountId>): Promise<MountPoints> {
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
    const k = await kind(p);
    if (k === "missing") {
      if (!mp.created.includes(p)) await create(mp, rootDir, p, "dir");
    } else if (k !== "dir") mp.skipped.set(id, `/${name} in the image is not a directory`);
  }
  if (mp.skipped.has("dev")) for (const id of IN_DEV) mp.skipped.set(id, "no /dev");
  const files = (["resolv", "hosts"] as const).filter((id) => wanted.has(id));
  if (files.length > 0) {
    const etc = `${r}/etc`;
    const k = await kind(etc);
    if (k === "missing") await create(mp, rootDir, etc, "dir");
    if (k === "missing" || k === "dir") {
      for (const id of files) {
        const name = id === "resolv" ? "resolv.conf" : "hosts";
        const p = `${etc}/${name}`;
        const fk = await kind(p);
        if (fk === "missing") await create(mp, etc, p, "file");
        else if (fk !== "file") mp.skipped.set(id, `/etc/${name} in the image is a symlink or not a file`);
      }
    } else for (const id of files) mp.skipped.set(id, "/etc in the image is not a directory");
  }
  for (const [parent, t] of mp.parents) t.after = await mtime(parent);
  return mp;
}

function touchArg(ns: bigint): string {
  const s = ns / 1_000_000_000n;
  const frac = (ns % 1_000_000_000n).toString().padStart(9, "0");
  return `@${s}.${frac}`;
}

/**
 * Removes what {@link prepareMountPoints} created (after the command's namespace is gone) and
 * puts each parent directory's mtime back: to its value before the run when the command did
 * not change that directory itself, else to the value the command left (nanoseconds kept, via
 * `touch -d @s.ns`).
 */
export async function restoreMountPoints(mp: MountPoints, touch: string | undefined): Promise<void> {
  if (mp.created.length === 0) return;
  const now = new Map<string, bigint>();
  for (const parent of mp.parents.keys()) now.set(parent, await mtime(parent).catch(() => -1n));
  for (const p of [...mp.created].reverse()) await rm(p, { recursive: true, force: true });
  if (!touch) return;
  for (const [parent, t] of mp.parents) {
    const current = now.get(parent)!;
    if (current < 0n) continue;
    const target = current === t.after ? t.before : current;
    await exec(touch, ["-c", "-m", "-d", touchArg(target), parent]);
  }
}
