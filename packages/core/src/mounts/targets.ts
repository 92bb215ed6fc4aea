import { lstatSync, mkdirSync, rmdirSync, statSync, unlinkSync, writeFileSync } from "node:fs";
import { RunnerSetupError } from "../runner/errors.js";
import { setMtime } from "../runner/mount-points.js";
import { resolveInRootSync } from "../runner/root-path.js";
import type { RunMount } from "./types.js";

/** Where each mount lands on the host, and what was created in the root so it could. */
export interface MountTargets {
  /** Host path of each mount's target, in the order of `mounts` as given to {@link prepareTargets}. */
  hostTargets: string[];
  /** Paths created in the root (directories or empty files), in creation order. */
  created: { path: string; dir: boolean }[];
  /** Parent directories whose mtime must be put back: before the first creation and after the last. */
  parents: Map<string, { before: bigint; after?: bigint }>;
  /** Made by root of a user namespace (see `prepareTargetsInUserNs`): undo there too. */
  inUserNamespace?: boolean;
}

// Synchronous calls throughout: a handful of metadata calls per RUN, each far cheaper than a
// thread-pool round trip (which costs milliseconds on a loaded machine).
function sourceIsDir(m: RunMount): boolean {
  if (m.type === "tmpfs") return true;
  return statSync(m.source).isDirectory();
}

/**
 * Resolves every mount's target inside `root` (symlinks followed inside the root, never out of
 * it) and creates what is missing: parent directories (0755) and the target itself (a directory,
 * or an empty file for a file or socket source), as BuildKit does. Mounts are taken parents
 * first; the result lists host targets in the original order. Undo with {@link removeTargets}.
 */
export async function prepareTargets(root: string, mounts: readonly RunMount[]): Promise<MountTargets> {
  const t: MountTargets = { hostTargets: new Array(mounts.length), created: [], parents: new Map() };
  const order = mounts.map((m, i) => ({ m, i })).sort((a, b) => depth(a.m.target) - depth(b.m.target));
  try {
    for (const { m, i } of order) t.hostTargets[i] = prepareOne(root, m, t);
    for (const [parent, p] of t.parents) p.after = statSync(parent, { bigint: true }).mtimeNs;
  } catch (e) {
    await removeTargets(t, undefined);
    throw e;
  }
  return t;
}

function statOrNone(p: string): { mtimeNs: bigint } | undefined {
  try {
    return statSync(p, { bigint: true });
  } catch {
    return undefined;
  }
}

function depth(p: string): number {
  return p.split("/").filter((c) => c && c !== ".").length;
}

function prepareOne(root: string, m: RunMount, t: MountTargets): string {
  const dir = sourceIsDir(m);
  for (let guard = 0; guard < 4096; guard++) {
    const r = resolveInRootSync(root, m.target);
    if (r.missing.length === 0) {
      const st = lstatSync(r.hostPath);
      if (dir !== st.isDirectory()) {
        throw new RunnerSetupError(
          `cannot mount ${dir ? "a directory" : "a file"} on ${m.target}: it is ${st.isDirectory() ? "a directory" : "not a directory"} in the image`,
        );
      }
      return r.hostPath;
    }
    const name = r.missing[0]!;
    if (name === "..") throw new RunnerSetupError(`cannot create the mount target ${m.target}`);
    const parent = r.hostPath;
    const next = `${parent === "/" ? "" : parent}/${name}`;
    const last = r.missing.length === 1;
    if (!t.parents.has(parent)) t.parents.set(parent, { before: statSync(parent, { bigint: true }).mtimeNs });
    if (last && !dir) writeFileSync(next, "", { mode: 0o644, flag: "wx" });
    else mkdirSync(next, { mode: 0o755 });
    t.created.push({ path: next, dir: !last || dir });
  }
  throw new RunnerSetupError(`cannot create the mount target ${m.target}`);
}

/**
 * Removes what {@link prepareTargets} created, deepest first, when it is still empty (the
 * command may have written beside a mount in a directory created for it: that stays, as in
 * BuildKit), and puts each parent's mtime back unless the command changed that directory.
 */
export async function removeTargets(t: MountTargets, touch: string | undefined): Promise<void> {
  if (t.created.length === 0) return;
  const now = new Map<string, bigint>();
  for (const parent of t.parents.keys()) {
    const st = statOrNone(parent);
    if (st) now.set(parent, st.mtimeNs);
  }
  for (const c of [...t.created].reverse()) {
    try {
      if (c.dir) rmdirSync(c.path);
      else if (lstatSync(c.path).size === 0) unlinkSync(c.path);
    } catch {
      // not empty (the command wrote there) or already gone: keep what the command made
    }
  }
  for (const [parent, p] of t.parents) {
    const current = now.get(parent);
    if (current === undefined) continue;
    if (!statOrNone(parent)) continue;
    // A parent the command changed keeps the command's mtime; one changed only by our
    // creations and removals gets its original back.
    await setMtime(parent, current === p.after ? p.before : current, touch).catch(() => {});
  }
}
