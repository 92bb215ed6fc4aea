import { type Change, cleanRootPath, type FileEntry, PathResolveError } from "@molt/oci";
import { EntryTable, FILE_CODE, HARDLINK_CODE, isStorableType } from "./entry-table.js";
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

/**
 * True when `p` is already in normal form: not empty, no leading or trailing `/`, no empty, `.`
 * or `..` segment, no NUL. (The common case: checked without allocating.)
 */
function isNormal(p: string): boolean {
  const n = p.length;
  if (n === 0) return false;
  let segStart = 0;
  for (let i = 0; i <= n; i++) {
    const c = i < n ? p.charCodeAt(i) : 0x2f;
    if (c === 0) return false;
    if (c !== 0x2f) continue;
    const len = i - segStart;
    if (len === 0) return false;
    if (
      p.charCodeAt(segStart) === 0x2e &&
      (len === 1 || (len === 2 && p.charCodeAt(segStart + 1) === 0x2e))
    ) {
      return false;
    }
    segStart = i + 1;
  }
  return true;
}

/**
 * Normalises an in-image path: strips leading `/` and `./`, collapses `//` and `/.`, drops a
 * trailing `/`. Returns `""` for the root. Rejects `..` segments (nothing is ever written
 * outside the layer root).
 * @throws {@link InvalidEntryError}
 */
export function normalizePath(p: string): string {
  if (isNormal(p)) return p;
  if (p.includes("\0")) throw new InvalidEntryError(p, "path contains a NUL byte");
  // The slow path is the one cleaner of @molt/oci, refusing any `..` (not only one above the root).
  try {
    return cleanRootPath(p, { dotdot: "forbid" });
  } catch (e) {
    if (e instanceof PathResolveError) throw new InvalidEntryError(p, "path contains '..'");
    throw e;
  }
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

/** True when the segment of `s` starting at `at` is the opaque marker. */
function markerAt(s: string, at: number): boolean {
  const end = at + OPAQUE_MARKER.length;
  return s.startsWith(OPAQUE_MARKER, at) && (end === s.length || s.charCodeAt(end) === 0x2f);
}

/**
 * Orders two in-image paths as a depth-first walk would: segment by segment, code unit order,
 * so a directory is immediately followed by its contents, and the opaque marker comes first
 * inside its directory (before anything the same layer adds there). Returns a negative number,
 * zero or a positive number. Allocates nothing (it runs ~n·log n times per layer).
 */
export function comparePaths(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  let seg = 0; // start of the segment being compared (the same offset in both: all before it is equal)
  let i = 0;
  for (; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) {
      if (x === 0x2f) seg = i + 1;
      continue;
    }
    break;
  }
  // the first differing segments start at `seg`; `i` is where they first differ (or one ends)
  const aEnded = i === a.length || a.charCodeAt(i) === 0x2f;
  const bEnded = i === b.length || b.charCodeAt(i) === 0x2f;
  if (aEnded && bEnded) {
    // equal segments up to here; the path with fewer segments comes first
    return i === a.length ? -1 : 1;
  }
  if (markerAt(a, seg)) return -1;
  if (markerAt(b, seg)) return 1;
  if (aEnded) return -1; // a's segment is a prefix of b's
  if (bEnded) return 1;
  return a.charCodeAt(i) < b.charCodeAt(i) ? -1 : 1;
}

/** How missing parent directories are obtained. */
export type ParentLookup = (path: string) => FileEntry | undefined | Promise<FileEntry | undefined>;

/** Where a regular file's bytes come from, when that differs from the entry itself (hardlink groups). */
interface Override {
  entry: FileEntry;
  data?: FileEntry | undefined;
  sizeFromSource?: boolean | undefined;
}

/**
 * A planned layer: its tar entries in final order, materialised one at a time by
 * {@link LayerPlan.item} so that writing never holds one object per entry.
 * @internal
 */
export class LayerPlan {
  /** @internal */
  constructor(
    private readonly table: EntryTable,
    /** Slots (≥ 0) and whiteout/opaque items (−1 − index into `specials`), in tar order. */
    private readonly order: number[],
    private readonly specials: PlanItem[],
    private readonly overrides: Map<number, Override>,
  ) {}

  /** Number of tar entries. */
  get length(): number {
    return this.order.length;
  }

  /** The `i`-th tar entry. */
  item(i: number): PlanItem {
    const ref = this.order[i]!;
    if (ref < 0) return this.specials[-1 - ref]!;
    const path = this.table.paths[ref]!;
    const o = this.overrides.get(ref);
    if (!o) return { kind: "entry", path, entry: this.table.entry(ref) };
    const it: PlanItem = { kind: "entry", path, entry: o.entry };
    if (o.data) it.data = o.data;
    if (o.sizeFromSource) it.sizeFromSource = true;
    return it;
  }
}

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
  const plan = await buildPlan(changes, options);
  const items: PlanItem[] = [];
  for (let i = 0; i < plan.length; i++) items.push(plan.item(i));
  return items;
}

/**
 * {@link planLayer}'s work, keeping the result compact: per added entry, its path and a few
 * typed-array cells (see {@link EntryTable}); the caller's change objects are not retained.
 * @internal
 */
export async function buildPlan(
  changes: Iterable<Change> | AsyncIterable<Change>,
  options: { parents?: ParentLookup | undefined; keepSources?: boolean | undefined } = {},
): Promise<LayerPlan> {
  const table = new EntryTable(options.keepSources);
  const adds = new Map<string, number>(); // path -> slot, in first-insertion order
  const deletes = new Set<string>();
  const opaques = new Set<string>();
  const put = (path: string, entry: FileEntry) => {
    const slot = adds.get(path);
    if (slot === undefined) adds.set(path, table.add(path, entry));
    else table.set(slot, path, entry);
  };
  const consume = (c: Change) => {
    if (c.kind === "add") {
      if (!isStorableType(c.entry.type)) return; // sockets and unknown kinds are never stored
      const path = normalizePath(c.entry.path);
      if (path === "") return; // no entry for "/"
      put(path, c.entry);
      if (deletes.size > 0 && deletes.delete(path) && c.entry.type === "directory") opaques.add(path);
    } else if (c.kind === "delete") {
      const path = normalizePath(c.path);
      if (path === "") throw new InvalidEntryError(c.path, "cannot delete the root directory");
      adds.delete(path);
      deletes.add(path);
    } else {
      opaques.add(normalizePath(c.path));
    }
  };
  if (Symbol.asyncIterator in changes) for await (const c of changes) consume(c);
  else for (const c of changes) consume(c);

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
      if (e && e.type === "directory") put(d, { ...e, path: d });
    }
  }

  const order: number[] = [...adds.values()];
  const specials: PlanItem[] = [];
  for (const p of deletes) {
    order.push(-1 - specials.length);
    specials.push({ kind: "whiteout", path: join(parentOf(p), WHITEOUT_PREFIX + baseOf(p)), target: p });
  }
  for (const d of opaques) {
    order.push(-1 - specials.length);
    specials.push({ kind: "opaque", path: join(d, OPAQUE_MARKER), target: d });
  }
  const paths = table.paths;
  const pathOf = (ref: number) => (ref >= 0 ? paths[ref]! : specials[-1 - ref]!.path);
  order.sort((a, b) => comparePaths(pathOf(a), pathOf(b))); // stable: equal paths keep insertion order

  const overrides = resolveHardlinks(order, table, adds);
  return new LayerPlan(table, order, specials, overrides);
}

/**
 * Hardlink groups: the member first in tar order carries the data (as a regular file) and the
 * others link to it; a link whose target is outside the layer becomes a regular file when it has
 * its own data. Returns the entries that differ from what the caller gave, by slot.
 */
function resolveHardlinks(
  order: number[],
  table: EntryTable,
  adds: Map<string, number>,
): Map<number, Override> {
  const overrides = new Map<number, Override>();
  const { types } = table;
  let any = false;
  for (const ref of order) {
    if (ref >= 0 && types[ref] === HARDLINK_CODE) {
      any = true;
      break;
    }
  }
  if (!any) return overrides;
  // root file of each hardlink, following chains inside the layer
  const rootOf = (path: string, entry: FileEntry): number | undefined => {
    const seen = new Set<string>([path]);
    let cur = entry;
    while (cur.type === "hardlink") {
      const t = normalizePath(cur.linkTarget ?? "");
      if (t === "" || seen.has(t)) return undefined;
      seen.add(t);
      const next = adds.get(t);
      if (next === undefined) return undefined;
      if (types[next] === FILE_CODE) return next;
      if (types[next] !== HARDLINK_CODE) return undefined;
      cur = table.entry(next);
    }
    return undefined;
  };
  const groupRoots = new Set<number>();
  const memberRoot = new Map<number, number>();
  for (const ref of order) {
    if (ref < 0 || types[ref] !== HARDLINK_CODE) continue;
    const path = table.paths[ref]!;
    const entry = table.entry(ref);
    const root = rootOf(path, entry);
    if (root !== undefined) {
      memberRoot.set(ref, root);
      groupRoots.add(root);
    } else if (entry.source || entry.open) {
      // target is not in this layer: the link's own bytes make it a regular file
      const asFile: FileEntry = { ...entry, type: "file" };
      delete asFile.linkTarget;
      overrides.set(ref, { entry: asFile, data: asFile, sizeFromSource: entry.source ? true : undefined });
    } else {
      throw new InvalidEntryError(
        path,
        `hardlink target "${entry.linkTarget ?? ""}" is not in the layer and the link has no data source`,
      );
    }
  }
  if (groupRoots.size === 0) return overrides;
  const holder = new Map<number, string>(); // root slot -> path of the member that carries the data
  for (const ref of order) {
    if (ref < 0) continue;
    const root = groupRoots.has(ref) ? ref : memberRoot.get(ref);
    if (root === undefined) continue;
    const path = table.paths[ref]!;
    const rootEntry = table.entry(root);
    const first = holder.get(root);
    if (first === undefined) {
      holder.set(root, path);
      overrides.set(ref, { entry: { ...rootEntry, path, type: "file" }, data: rootEntry });
    } else {
      const { source: _s, open: _o, xattrs: _x, ...meta } = rootEntry;
      overrides.set(ref, { entry: { ...meta, path, type: "hardlink", linkTarget: first, size: 0 } });
    }
  }
  return overrides;
}
