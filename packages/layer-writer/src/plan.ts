import type { Change, FileEntry } from "@molt/oci";
import { InvalidEntryError } from "./errors.js";

/** Name of the marker that makes a directory opaque. */
export const OPAQUE_MARKER = ".wh..wh..opq";
/** Prefix of a whiteout file. */
export const WHITEOUT_PREFIX = ".wh.";

/** One tar entry to write, in final order. */
export type PlanItem =
  /** A filesystem entry. `data` is where a regular file's bytes come from (for the first member of a hardlink group, the group's file). */
  | { kind: "entry"; path: string; entry: FileEntry; data?: FileEntry; sizeFromSource?: boolean }
  /** A whiteout file (`dir/.wh.name`) hiding `target`. */
  | { kind: "whiteout"; path: string; target: string }
  /** The opaque marker (`dir/.wh..wh..opq`) of directory `target`. */
  | { kind: "opaque"; path: string; target: string };

const VALID_TYPES = new Set(["file", "directory", "symlink", "hardlink", "char", "block", "fifo"]);

/**
 * Normalises an in-image path: strips leading `/` and `./`, collapses `//` and `/.`, drops a
 * trailing `/`. Returns `""` for the root. Rejects `..` segments (nothing is ever written
 * outside the layer root).
 * @throws {@link InvalidEntryError}
 */
export function normalizePath(p: string): string {
  if (p.includes("\0")) throw new InvalidEntryError(p, "path contains a NUL byte");
  const out: string[] = [];
  for (const seg of p.split("/")) {
    if (seg === "" || seg === ".") continue;
    if (seg === "..") throw new InvalidEntryError(p, "path contains '..'");
    out.push(seg);
  }
  return out.join("/");
}

function parentOf(p: string): string {
  const i = p.lastIndexOf("/");
  return i < 0 ? "" : p.slice(0, i);
}

function baseOf(p: string): string {
  return p.slice(p.lastIndexOf("/") + 1);
}

function join(dir: string, name: string): string {
  return dir ? `${dir}/${name}` : name;
}

/**
 * Orders two in-image paths as a depth-first walk would: segment by segment, code unit order,
 * so a directory is immediately followed by its contents, and the opaque marker comes first
 * inside its directory (before anything the same layer adds there).
 */
export function comparePaths(a: string, b: string): number {
  if (a === b) return 0;
  const sa = a.split("/");
  const sb = b.split("/");
  const n = Math.min(sa.length, sb.length);
  for (let i = 0; i < n; i++) {
    const x = sa[i]!;
    const y = sb[i]!;
    if (x === y) continue;
    if (x === OPAQUE_MARKER) return -1;
    if (y === OPAQUE_MARKER) return 1;
    return x < y ? -1 : 1;
  }
  return sa.length - sb.length;
}

/** How missing parent directories are obtained. */
export type ParentLookup = (path: string) => FileEntry | undefined | Promise<FileEntry | undefined>;

/**
 * Turns a list of changes into the exact, sorted list of tar entries of a layer:
 * later changes to the same path win (an add after a delete is a re-creation — an opaque
 * directory when it is a directory; a delete after an add is a whiteout); whiteouts under a deleted or
 * opaque directory are dropped; missing parent directories are asked from `parents`; hardlinks
 * are re-pointed so that the first member of each group in tar order holds the data and the
 * others link to it by its in-layer path.
 *
 * @throws {@link InvalidEntryError} on a bad path or a hardlink whose target is neither in the
 * layer nor readable itself.
 */
export async function planLayer(
  changes: Iterable<Change> | AsyncIterable<Change>,
  options: { parents?: ParentLookup | undefined; mtimeClampNs?: bigint | undefined } = {},
): Promise<PlanItem[]> {
  const adds = new Map<string, FileEntry>();
  const deletes = new Set<string>();
  const opaques = new Set<string>();
  for await (const c of changes as AsyncIterable<Change>) {
    if (c.kind === "add") {
      if (!VALID_TYPES.has(c.entry.type)) continue; // sockets and unknown kinds are never stored
      const path = normalizePath(c.entry.path);
      if (path === "") continue; // no entry for "/"
      adds.set(path, c.entry);
      if (deletes.delete(path) && c.entry.type === "directory") opaques.add(path);
    } else if (c.kind === "delete") {
      const path = normalizePath(c.path);
      if (path === "") throw new InvalidEntryError(c.path, "cannot delete the root directory");
      adds.delete(path);
      deletes.add(path);
    } else {
      opaques.add(normalizePath(c.path));
    }
  }
  // whiteouts under a deleted or opaque directory are redundant
  const hidden = (p: string): boolean => {
    for (let d = parentOf(p); ; d = parentOf(d)) {
      if (deletes.has(d) || opaques.has(d)) return true;
      if (d === "") return false;
    }
  };
  for (const p of [...deletes]) if (hidden(p)) deletes.delete(p);
  // deletes of the root's children can still be hidden by an opaque root ("" in opaques): handled above.

  // parents of everything the layer holds
  if (options.parents) {
    const need = new Set<string>();
    const want = (p: string) => {
      for (let d = parentOf(p); d !== ""; d = parentOf(d)) {
        if (adds.has(d) || need.has(d)) break;
        need.add(d);
      }
    };
    for (const p of adds.keys()) want(p);
    for (const p of deletes) want(p);
    for (const p of opaques) if (p !== "") want(join(p, OPAQUE_MARKER));
    for (const d of opaques) if (d !== "" && !adds.has(d)) need.add(d);
    for (const d of need) {
      const e = await options.parents(d);
      if (e && e.type === "directory") adds.set(d, { ...e, path: d });
    }
  }

  const items: PlanItem[] = [];
  for (const [path, entry] of adds) items.push({ kind: "entry", path, entry });
  for (const p of deletes) {
    items.push({ kind: "whiteout", path: join(parentOf(p), WHITEOUT_PREFIX + baseOf(p)), target: p });
  }
  for (const d of opaques) items.push({ kind: "opaque", path: join(d, OPAQUE_MARKER), target: d });
  items.sort((a, b) => comparePaths(a.path, b.path));

  resolveHardlinks(items, adds);
  return items;
}

function resolveHardlinks(items: PlanItem[], adds: Map<string, FileEntry>): void {
  // root file of each hardlink, following chains inside the layer
  const rootOf = (path: string, entry: FileEntry): string | undefined => {
    const seen = new Set<string>([path]);
    let cur = entry;
    while (cur.type === "hardlink") {
      const t = normalizePath(cur.linkTarget ?? "");
      if (t === "" || seen.has(t)) return undefined;
      seen.add(t);
      const next = adds.get(t);
      if (!next) return undefined;
      if (next.type === "file") return t;
      if (next.type !== "hardlink") return undefined;
      cur = next;
    }
    return undefined;
  };
  const groupRoots = new Set<string>();
  const memberRoot = new Map<string, string>();
  for (const it of items) {
    if (it.kind !== "entry" || it.entry.type !== "hardlink") continue;
    const root = rootOf(it.path, it.entry);
    if (root) {
      memberRoot.set(it.path, root);
      groupRoots.add(root);
    } else if (it.entry.source || it.entry.open) {
      // target is not in this layer: the link's own bytes make it a regular file
      it.entry = { ...it.entry, type: "file" };
      delete it.entry.linkTarget;
      it.data = it.entry;
      if (it.entry.source) it.sizeFromSource = true;
    } else {
      throw new InvalidEntryError(
        it.path,
        `hardlink target "${it.entry.linkTarget ?? ""}" is not in the layer and the link has no data source`,
      );
    }
  }
  const holder = new Map<string, string>(); // root -> path of the member that carries the data
  for (const it of items) {
    if (it.kind !== "entry") continue;
    const root = groupRoots.has(it.path) ? it.path : memberRoot.get(it.path);
    if (!root) continue;
    const rootEntry = adds.get(root)!;
    const first = holder.get(root);
    if (first === undefined) {
      holder.set(root, it.path);
      it.entry = { ...rootEntry, path: it.path, type: "file" };
      it.data = rootEntry;
    } else {
      const { source: _s, open: _o, xattrs: _x, ...meta } = rootEntry;
      it.entry = { ...meta, path: it.path, type: "hardlink", linkTarget: first, size: 0 };
      delete it.data;
    }
  }
}
