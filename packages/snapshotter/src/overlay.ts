import { spawnSync } from "node:child_process";
import {
  type BigIntStats,
  chmodSync,
  lchownSync,
  lstatSync,
  lutimesSync,
  readdirSync,
  readlinkSync,
  renameSync,
  rmSync,
} from "node:fs";
import type { Change, FileEntry } from "@molt/oci";
import createDebug from "debug";
import { type Baseline, entryFromStat } from "./baseline.js";
import { fileEntry, linkHardlinks, sortChanges } from "./entries.js";
import { abs } from "./paths.js";
import type { ShellHelper } from "./shell.js";
import { isOverlayXattr, parseGetfattr, writeXattrs } from "./xattrs.js";

const debug = createDebug("molt:snapshot");

function isWhiteout(st: BigIntStats): boolean {
  return st.isCharacterDevice() && st.rdev === 0n;
}

function underIgnored(rel: string, ignore: ReadonlySet<string>): boolean {
  if (ignore.size === 0) return false;
  for (let i = rel.length; i > 0; i = rel.lastIndexOf("/", i - 1)) {
    if (ignore.has(rel.slice(0, i))) return true;
  }
  return false;
}

async function move(from: string, to: string, helper?: ShellHelper): Promise<void> {
  try {
    renameSync(from, to);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "EXDEV") throw e;
    // Upper and root on different filesystems (always so when the root is itself an overlay, as
    // a root materialised from --cache-dir snapshots is): copy with everything, then drop the
    // original. Through the snapshotter's helper shell when there is one: a spawnSync from Node
    // forks the whole (large) process and blocks the main thread meanwhile (5.2 ms of main-thread
    // CPU for one file in a warm 20,000-file rebuild's RUN); the helper's cp costs it a pipe write.
    const argv = ["cp", "-a", "--no-target-directory", "--", from, to];
    if (helper) {
      const r = await helper.run(argv);
      if (r.code !== 0) throw new Error(`cp -a ${from} ${to}: ${r.out}`);
    } else {
      const r = spawnSync(argv[0]!, argv.slice(1), { encoding: "utf8" });
      if (r.status !== 0) throw new Error(`cp -a ${from} ${to}: ${r.stderr}`);
    }
    rmSync(from, { recursive: true, force: true });
  }
}

/**
 * Lists, for every directory of the upper directory, the names the merged view shows there.
 * Call it while the overlay is still mounted. It is what tells a directory the step deleted and
 * re-created (its lower children are no longer shown, with no whiteout) without reading
 * `trusted.overlay.opaque`, which Node cannot read without the `getfattr` program.
 */
export function readMergedListings(upper: string, merged: string): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  const stack = [""];
  while (stack.length > 0) {
    const dir = stack.pop()!;
    out.set(dir, new Set(readdirSync(abs(merged, dir))));
    for (const d of readdirSync(abs(upper, dir), { withFileTypes: true })) {
      if (d.isDirectory()) stack.push(dir === "" ? d.name : `${dir}/${d.name}`);
    }
  }
  return out;
}

/**
 * Overlay-mode change detection: reads the (unmounted) upper directory, which holds exactly what
 * the step changed (whiteout devices are deletions, `trusted.overlay.opaque` marks replaced
 * directories), then moves it into `root` so the next step sees it, and updates `baseline`.
 * `visible` is {@link readMergedListings}' answer, read before unmounting: with it, replaced
 * directories are found without reading any xattr. Returned `source` paths point into `root`.
 * `helper` (the snapshotter's shell, which sees `upper` and `root` as this process does) runs
 * the `cp -a` of entries that cannot be renamed into `root` (another filesystem).
 */
export async function overlayChanges(
  upper: string,
  root: string,
  baseline: Baseline,
  ignore: ReadonlySet<string>,
  xattrDump: string,
  visible?: ReadonlyMap<string, ReadonlySet<string>>,
  helper?: ShellHelper,
): Promise<Change[]> {
  const prefix = upper.length + 1;
  const allX = new Map<string, Record<string, Buffer>>();
  for (const [p, x] of parseGetfattr(xattrDump, () => true)) allX.set(p.slice(prefix), x);

  interface Item {
    rel: string;
    st: BigIntStats;
    opaque: boolean;
    linkTarget?: string;
    xattrs?: Record<string, Buffer>;
  }
  const items: Item[] = [];
  const deletes: string[] = [];
  const listing = new Map<string, Set<string>>(); // upper directory → names that are not whiteouts
  const stack = [""];
  while (stack.length > 0) {
    const dir = stack.pop()!;
    const names = new Set<string>();
    listing.set(dir, names);
    for (const name of readdirSync(abs(upper, dir))) {
      const rel = dir === "" ? name : `${dir}/${name}`;
      const st = lstatSync(abs(upper, rel), { bigint: true });
      if (isWhiteout(st)) {
        deletes.push(rel);
        continue;
      }
      names.add(name);
      const x = allX.get(rel);
      const own = x ? Object.fromEntries(Object.entries(x).filter(([k]) => !isOverlayXattr(k))) : undefined;
      const opaque = st.isDirectory() && x?.["trusted.overlay.opaque"]?.toString() === "y";
      items.push({
        rel,
        st,
        opaque,
        linkTarget: st.isSymbolicLink() ? readlinkSync(abs(upper, rel)) : undefined,
        xattrs: own && Object.keys(own).length > 0 ? own : undefined,
      });
      if (st.isDirectory()) stack.push(rel);
    }
  }

  // What the step removed from the lower tree without a whiteout — everything below a directory
  // it deleted and re-created (an opaque directory) — becomes explicit deletions of the hidden
  // children, which is what walk mode reports for the same step: both modes give the same change
  // set. The merged view read while the overlay was mounted tells what is hidden, whatever tools
  // the host has; `trusted.overlay.opaque` (when getfattr could read it) says the same.
  const deleted = new Set(deletes);
  const hidden = (rel: string) => {
    if (deleted.has(rel)) return;
    deleted.add(rel);
    deletes.push(rel);
  };
  const hide = (dir: string) => {
    const kept = listing.get(dir) ?? new Set<string>();
    for (const name of baseline.children(dir).keys()) {
      const rel = dir === "" ? name : `${dir}/${name}`;
      if (!kept.has(name)) hidden(rel);
      else if (baseline.get(rel)?.type === "directory" && listing.has(rel)) hide(rel);
    }
  };
  if (visible) {
    for (const [dir, names] of listing) {
      const seen = visible.get(dir);
      if (!seen) throw new Error(`the merged view of /${dir} was not read`);
      const lower = baseline.get(dir)?.type === "directory" ? baseline.children(dir) : undefined;
      for (const name of lower?.keys() ?? [])
        if (!seen.has(name)) hidden(dir === "" ? name : `${dir}/${name}`);
      for (const name of seen) {
        const rel = dir === "" ? name : `${dir}/${name}`;
        // Shown but neither in the upper nor the lower directory: the upper is not a plain change
        // set (a redirected or metacopy directory); refuse rather than write a wrong layer.
        if (!names.has(name) && !lower?.has(name) && !underIgnored(rel, ignore)) {
          throw new Error(
            `/${rel} is visible in the overlay but neither in its upper nor in its lower directory (overlayfs redirect_dir or metacopy in use?)`,
          );
        }
      }
    }
  }
  for (const it of items) if (it.opaque && baseline.get(it.rel)?.type === "directory") hide(it.rel);

  // Merge: deletions, then entries parents-first; a directory that is new or opaque moves whole.
  for (const rel of deletes) {
    rmSync(abs(root, rel), { recursive: true, force: true });
    baseline.delete(rel);
  }
  items.sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0));
  const moved = new Set<string>(); // directories moved whole (their children came along)
  const merged: Item[] = []; // directories merged into an existing one: metadata applied after
  for (const it of items) {
    const parent = it.rel.slice(0, Math.max(0, it.rel.lastIndexOf("/")));
    const inMoved = parent !== "" && moved.has(parent);
    if (inMoved) {
      if (it.st.isDirectory()) moved.add(it.rel);
    } else {
      const dst = abs(root, it.rel);
      const cur = lstatSync(dst, { bigint: true, throwIfNoEntry: false });
      if (it.st.isDirectory() && !it.opaque && cur?.isDirectory()) {
        merged.push(it);
      } else {
        // rename() cannot put a directory over a non-directory or the other way round.
        if (cur && (cur.isDirectory() || it.st.isDirectory())) rmSync(dst, { recursive: true, force: true });
        if (it.opaque || (cur && !cur.isDirectory() && it.st.isDirectory())) baseline.delete(it.rel);
        await move(abs(upper, it.rel), dst, helper);
        if (it.st.isDirectory()) moved.add(it.rel);
      }
    }
  }
  // Directories merged into existing ones take the upper copy's metadata, deepest first.
  const restore: Array<{ path: string; xattrs: Record<string, Buffer> }> = [];
  for (const it of merged.reverse()) {
    const dst = abs(root, it.rel);
    lchownSync(dst, Number(it.st.uid), Number(it.st.gid));
    chmodSync(dst, Number(it.st.mode & 0o7777n));
    const t = (ns: bigint) => Number(ns / 1000n) / 1e6;
    lutimesSync(dst, t(it.st.atimeNs), t(it.st.mtimeNs));
    if (it.xattrs) restore.push({ path: dst, xattrs: it.xattrs });
  }
  await writeXattrs(restore);

  // overlayfs copies a directory up whenever something inside it is touched, even when what was
  // touched is gone again (e.g. a mount point a runner made and removed). Such a directory, with
  // the mode, owner, mtime and xattrs it had and nothing changed below it, is no change: walk mode
  // does not report it either. A directory above a real change stays, as walk reports parents.
  const untouched = new Set<string>();
  for (const it of items) {
    const prev = baseline.get(it.rel);
    if (
      it.st.isDirectory() &&
      !it.opaque &&
      prev?.type === "directory" &&
      prev.mode === Number(it.st.mode & 0o7777n) &&
      prev.uid === Number(it.st.uid) &&
      prev.gid === Number(it.st.gid) &&
      prev.mtimeNs === it.st.mtimeNs &&
      sameXattrs(prev.xattrs, it.xattrs)
    ) {
      untouched.add(it.rel);
    }
  }
  const needed = new Set<string>();
  for (const rel of [...deletes, ...items.map((i) => i.rel).filter((r) => !untouched.has(r))]) {
    for (let i = rel.lastIndexOf("/"); i > 0; i = rel.lastIndexOf("/", i - 1)) needed.add(rel.slice(0, i));
  }

  const changes: Change[] = [];
  const linkable: Array<{ entry: FileEntry; ino: bigint; nlink: number }> = [];
  for (const rel of deletes) if (!underIgnored(rel, ignore)) changes.push({ kind: "delete", path: rel });
  for (const it of items) {
    const dst = abs(root, it.rel);
    const now = lstatSync(dst, { bigint: true });
    baseline.set(it.rel, entryFromStat(now, { linkTarget: it.linkTarget, xattrs: it.xattrs }));
    if (underIgnored(it.rel, ignore) || (untouched.has(it.rel) && !needed.has(it.rel))) continue;
    const entry = fileEntry(it.rel, it.st, dst, { linkTarget: it.linkTarget, xattrs: it.xattrs });
    changes.push({ kind: "add", entry });
    linkable.push({ entry, ino: it.st.ino, nlink: Number(it.st.nlink) });
  }
  const rootSt = lstatSync(abs(root, ""), { bigint: true });
  baseline.set("", entryFromStat(rootSt, baseline.get("")));
  linkHardlinks(linkable);
  debug("overlay: %d upper entries, %d deletions", items.length, deletes.length);
  return sortChanges(changes);
}

/** Two xattr sets hold the same names and values (undefined and empty are the same). */
function sameXattrs(a: Record<string, Buffer> | undefined, b: Record<string, Buffer> | undefined): boolean {
  const ka = Object.keys(a ?? {});
  if (ka.length !== Object.keys(b ?? {}).length) return false;
  return ka.every((k) => b?.[k] !== undefined && a![k]!.equals(b[k]!));
}
