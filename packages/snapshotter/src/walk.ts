import { type BigIntStats, lstatSync, readdirSync, readlinkSync } from "node:fs";
import type { Change, FileEntry } from "@molt/oci";
import createDebug from "debug";
import { type Baseline, type BaselineEntry, entryFromStat, nodeType } from "./baseline.js";
import { fileEntry, linkHardlinks, sortChanges } from "./entries.js";
import { throwIfAborted } from "./errors.js";
import { hasher, hashFileSync } from "./hash.js";
import { abs } from "./paths.js";
import { type PendingXattrReader, readXattrs } from "./xattrs.js";

const debug = createDebug("molt:snapshot");

function sameXattrs(a: Record<string, Buffer> | undefined, b: Record<string, Buffer> | undefined): boolean {
  const ka = Object.keys(a ?? {});
  const kb = Object.keys(b ?? {});
  if (ka.length !== kb.length) return false;
  return ka.every((k) => b?.[k] !== undefined && a![k]!.equals(b[k]!));
}

type Verdict = "same" | "changed" | "new" | "replaced" | "uncertain";

function compare(b: BaselineEntry | undefined, st: BigIntStats): Verdict {
  if (b === undefined) return "new";
  // The kernel moves ctime on every inode change (content, mode, owner, times, links, xattrs):
  // same inode and same ctime to the nanosecond means nothing to look at.
  if (b.ctimeNs === st.ctimeNs && b.ino === st.ino) return "same";
  const t = nodeType(st);
  if (b.type !== t || b.ino !== st.ino) return "replaced";
  if (
    b.mode !== Number(st.mode & 0o7777n) ||
    b.uid !== Number(st.uid) ||
    b.gid !== Number(st.gid) ||
    b.mtimeNs !== st.mtimeNs ||
    (t === "file" && b.size !== Number(st.size))
  )
    return "changed";
  if (t !== "directory" && b.nlink !== Number(st.nlink)) return "changed";
  if (b.ctimeNs !== st.ctimeNs) return "uncertain";
  return "same";
}

/**
 * Walk-mode change detection: walks `root` (skipping `ignore`), compares each entry's stat with
 * `baseline` and reports what changed; content is hashed only for files whose ctime moved while
 * every other stat field stayed the same. Updates `baseline` to the new tree.
 */
export async function walkChanges(
  root: string,
  baseline: Baseline,
  ignore: ReadonlySet<string>,
  options: { signal?: AbortSignal; xattrReader?: PendingXattrReader } = {},
): Promise<Change[]> {
  const changed = new Map<string, BigIntStats>(); // added or modified (new content/metadata)
  const deleted: string[] = [];
  const uncertain = new Map<string, BigIntStats>();
  const dirStats = new Map<string, BigIntStats>();
  const fresh = new Set<string>(); // directories whose whole content is new
  const rootSt = lstatSync(abs(root, ""), { bigint: true });
  dirStats.set("", rootSt);

  const stack: string[] = [""];
  const base = root === "" ? "/" : `${root}/`;
  // Directories that hold an ignored path: only their children need the ignore check.
  const holdsIgnored = new Set<string>();
  for (const p of ignore) holdsIgnored.add(p.includes("/") ? p.slice(0, p.lastIndexOf("/")) : "");
  let n = 0;
  while (stack.length > 0) {
    const dir = stack.pop()!;
    const isFresh = fresh.has(dir);
    const dirPath = dir === "" ? base : `${base}${dir}/`;
    const relPrefix = dir === "" ? "" : `${dir}/`;
    const checkIgnore = holdsIgnored.has(dir);
    let names: string[];
    try {
      names = readdirSync(dir === "" ? abs(root, "") : dirPath);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === "ENOENT" || code === "ENOTDIR") continue;
      throw e;
    }
    const known = isFresh ? undefined : baseline.children(dir);
    let seen = 0;
    for (const name of names) {
      if (checkIgnore && ignore.has(relPrefix + name)) {
        if (known?.has(name)) seen++;
        continue;
      }
      const b = known?.get(name);
      if (b !== undefined) seen++;
      const path = dirPath + name;
      // Fast path with a plain lstat (no BigInt allocations): same inode and same ctime.
      const quick = lstatSync(path, { throwIfNoEntry: false });
      if (quick === undefined) continue;
      if (b !== undefined && b.ctimeMs === quick.ctimeMs && Number(b.ino) === quick.ino) {
        if (quick.isDirectory()) stack.push(relPrefix + name);
        if (++n % 8192 === 0) {
          await new Promise((r) => setImmediate(r));
          throwIfAborted(options.signal);
        }
        continue;
      }
      const rel = relPrefix + name;
      const st = lstatSync(path, { bigint: true, throwIfNoEntry: false });
      if (st === undefined) continue;
      const isDir = st.isDirectory();
      if (isDir) dirStats.set(rel, st);
      const v = isFresh ? "new" : compare(b, st);
      if (v === "same") {
        if (isDir) stack.push(rel);
      } else if (v === "uncertain") {
        uncertain.set(rel, st);
        if (isDir) stack.push(rel);
      } else {
        changed.set(rel, st);
        if (isDir) {
          // A brand-new directory's children are all new. A directory that replaced another one
          // (new inode) is compared child by child: vanished children become deletions, so the
          // change set is the same whether or not the filesystem reused the inode number.
          if (v === "new" || baseline.get(rel)?.type !== "directory") fresh.add(rel);
          stack.push(rel);
        }
      }
      if (++n % 8192 === 0) {
        await new Promise((r) => setImmediate(r));
        throwIfAborted(options.signal);
      }
    }
    // Deletions: only when fewer known names were seen than the baseline holds.
    if (known !== undefined && seen < known.size) {
      const present = new Set(names);
      for (const name of known.keys()) {
        const rel = relPrefix + name;
        if (!present.has(name) && !ignore.has(rel)) deleted.push(rel);
      }
    }
  }

  // Parents of every change are part of the layer (as overlayfs copies them up).
  const parentsOf = (rel: string, into: Map<string, BigIntStats>) => {
    for (let i = rel.lastIndexOf("/"); i > 0; i = rel.lastIndexOf("/", i - 1)) {
      const parent = rel.slice(0, i);
      if (into.has(parent) || changed.has(parent)) break;
      into.set(parent, dirStats.get(parent) ?? lstatSync(abs(root, parent), { bigint: true }));
    }
  };
  const parents = new Map<string, BigIntStats>();
  for (const rel of changed.keys()) parentsOf(rel, parents);
  for (const rel of uncertain.keys()) parentsOf(rel, parents);
  for (const rel of deleted) parentsOf(rel, parents);

  // One getfattr for everything that may end up in the change set.
  const prefix = root === "" ? 1 : root.length + 1;
  const xattrs = new Map<string, Record<string, Buffer>>();
  const ask = [...changed.keys(), ...uncertain.keys(), ...parents.keys()].map((r) => abs(root, r));
  const read = options.xattrReader ? options.xattrReader.read(ask) : readXattrs(ask);
  for (const [p, x] of await read) xattrs.set(p.slice(prefix), x);

  // Settle the uncertain ones (only ctime moved): xattrs, symlink target, then content hash.
  let xx: Awaited<ReturnType<typeof hasher>> | undefined;
  const rehashed = new Map<string, bigint>();
  for (const [rel, st] of uncertain) {
    const b = baseline.get(rel)!;
    let isChanged = false;
    if (!baseline.xattrsKnown || !sameXattrs(b.xattrs, xattrs.get(rel))) isChanged = true;
    else if (st.isSymbolicLink()) isChanged = readlinkSync(abs(root, rel)) !== b.linkTarget;
    else if (st.isFile()) {
      if (b.hash === undefined) isChanged = true;
      else {
        xx ??= await hasher();
        const h = hashFileSync(xx, abs(root, rel));
        isChanged = h !== b.hash;
        rehashed.set(rel, h);
      }
    }
    if (isChanged) changed.set(rel, st);
    else baseline.set(rel, entryFromStat(st, { linkTarget: b.linkTarget, xattrs: b.xattrs, hash: b.hash }));
  }
  const needed = new Map<string, BigIntStats>();
  for (const rel of changed.keys()) parentsOf(rel, needed);
  for (const rel of deleted) parentsOf(rel, needed);
  for (const [rel, st] of needed) changed.set(rel, st);

  const changes: Change[] = [];
  const linkable: Array<{ entry: FileEntry; ino: bigint; nlink: number }> = [];
  for (const rel of deleted) {
    changes.push({ kind: "delete", path: rel });
    baseline.delete(rel);
  }
  const adds = [...changed.keys()].sort();
  for (const rel of adds) {
    const st = changed.get(rel)!;
    const p = abs(root, rel);
    const linkTarget = st.isSymbolicLink() ? readlinkSync(p) : undefined;
    const entry = fileEntry(rel, st, p, { linkTarget, xattrs: xattrs.get(rel) });
    changes.push({ kind: "add", entry });
    linkable.push({ entry, ino: st.ino, nlink: Number(st.nlink) });
    baseline.set(rel, entryFromStat(st, { linkTarget, xattrs: xattrs.get(rel), hash: rehashed.get(rel) }));
  }
  baseline.set("", entryFromStat(rootSt, baseline.get("")));
  linkHardlinks(linkable);
  debug("walk: %d entries visited, %d changes", n, changes.length);
  return sortChanges(changes);
}
