import type { NodeType } from "./baseline.js";
import { ExtractError, UnsafePathError } from "./errors.js";
import type { IndexEntry, LayerIndex } from "./layer-index.js";
import { type Lookup, resolveWith } from "./paths.js";

/** What a {@link RootIndex} knows about one path: what `lstat` (and `readlink`) would say after extraction. */
export interface IndexNode {
  type: NodeType;
  /** Permission bits (`mode & 0o7777`). */
  mode: number;
  uid: number;
  gid: number;
  mtimeNs: bigint;
  size: number;
  /** A symlink's target. */
  linkTarget?: string;
  /** The body of a small file the layer index kept. */
  content?: Buffer;
}

const parentOf = (p: string): string => {
  const i = p.lastIndexOf("/");
  return i < 0 ? "" : p.slice(0, i);
};
const join = (dir: string, base: string) => (dir === "" ? base : `${dir}/${base}`);
/**
 * The time extraction leaves on disk: it passes seconds with microseconds as a double, which
 * libuv turns back into a timespec (truncating, then dropping sub-microseconds): the same here.
 */
function micro(ns: bigint): bigint {
  const t = Number(ns / 1000n) / 1e6;
  const sec = Math.trunc(t);
  let nsec = Math.trunc((t - sec) * 1e9);
  nsec -= nsec % 1000;
  return nsec < 0
    ? BigInt(sec - 1) * 1_000_000_000n + BigInt(nsec + 1e9)
    : BigInt(sec) * 1_000_000_000n + BigInt(nsec);
}

/**
 * The root filesystem that a list of layers makes, as an index (path → {@link IndexNode}) built
 * from {@link LayerIndex}es without extracting anything. Layers are applied with the rules of
 * {@link extract}, so the index says what the extracted tree would: whiteouts delete what lower
 * layers put (not what the same layer adds), opaque markers hide a directory's lower contents,
 * every parent is resolved through the symlinks already in the tree (missing ones are made 0755,
 * owned by root), a later entry replaces an earlier one (a directory only by a non-directory),
 * a hard link shares its target's node, and a directory's mode, owner and time come from its
 * last header in a layer. Owners are the headers' (extraction as root keeps them too).
 *
 * Where extraction sets a time from the clock (a directory made only as a parent, or one whose
 * children a later layer changed without listing it), the index keeps the header's time or the
 * time it was applied: such times are not part of the image's identity anyway.
 */
export class RootIndex {
  readonly #nodes = new Map<string, IndexNode>();
  readonly #children = new Map<string, Set<string>>();
  /** A lookup for the path resolver. */
  readonly lookup: Lookup = (rel) => this.#nodes.get(rel);
  /** Layers applied so far. */
  layers = 0;

  constructor() {
    this.#nodes.set("", { type: "directory", mode: 0o755, uid: 0, gid: 0, mtimeNs: 0n, size: 0 });
  }

  /** The node at `path` (a cleaned root-relative path, not resolved through symlinks), like `lstat`. */
  get(path: string): IndexNode | undefined {
    return this.#nodes.get(path);
  }

  /** Number of paths (the root included). */
  get size(): number {
    return this.#nodes.size;
  }

  /** Applies the next layer on top of what the index holds. */
  apply(layer: LayerIndex): void {
    const layerSet = new Set<string>();
    const dirMeta = new Map<string, IndexEntry>();
    const now = BigInt(Date.now()) * 1_000_000n;
    for (const e of layer.entries) {
      if (e.path === "") {
        if (e.type === "directory") dirMeta.set("", e);
        continue;
      }
      const slash = e.path.lastIndexOf("/");
      const dirPart = slash < 0 ? "" : e.path.slice(0, slash);
      const base = slash < 0 ? e.path : e.path.slice(slash + 1);
      if (e.type === "opaque") {
        this.#opaque(resolveWith(this.lookup, e.path, true), layerSet);
        continue;
      }
      if (e.type === "whiteout") {
        const dir = resolveWith(this.lookup, dirPart, true);
        const target = join(dir, base);
        if (!layerSet.has(target) && this.#nodes.get(dir)?.type === "directory") this.#remove(target);
        continue;
      }
      const parent = this.#ensureDir(dirPart, e.path, now);
      const rel = join(parent, base);
      const existing = this.#nodes.get(rel);
      layerSet.add(rel);
      const meta = { mode: e.mode, uid: e.uid, gid: e.gid, mtimeNs: micro(e.mtimeNs), size: 0 };
      switch (e.type) {
        case "directory":
          if (existing?.type !== "directory") {
            if (existing) this.#remove(rel);
            this.#set(rel, { type: "directory", ...meta });
          }
          dirMeta.set(rel, e);
          break;
        case "file":
        case "symlink":
        case "char":
        case "block":
        case "fifo": {
          if (existing) this.#remove(rel);
          const node: IndexNode = { type: e.type, ...meta };
          if (e.type === "file") node.size = e.size;
          if (e.type === "symlink") {
            node.linkTarget = e.linkTarget ?? "";
            node.mode = 0o777; // what lstat says of a Linux symlink
          }
          if (e.content) node.content = e.content;
          this.#set(rel, node);
          break;
        }
        case "hardlink": {
          const target = resolveWith(this.lookup, e.linkTarget ?? "", false);
          const te = this.#nodes.get(target);
          if (te === undefined)
            throw new ExtractError(
              `hardlink "${e.path}" points to "${e.linkTarget}", which is not in the root`,
              {
                entry: e.path,
              },
            );
          if (te.type === "directory") throw new UnsafePathError(e.path, "hardlink to a directory");
          if (target === rel) break;
          if (existing) this.#remove(rel);
          this.#set(rel, te);
          break;
        }
        default:
          layerSet.delete(rel); // skipped by extraction, parents made
      }
    }
    for (const [rel, m] of dirMeta) {
      const n = this.#nodes.get(rel);
      if (n?.type !== "directory") continue;
      this.#nodes.set(rel, { ...n, mode: m.mode, uid: m.uid, gid: m.gid, mtimeNs: micro(m.mtimeNs) });
    }
    this.layers++;
  }

  #ensureDir(dirPart: string, name: string, now: bigint): string {
    const rel = resolveWith(this.lookup, dirPart, true);
    if (rel === "") return "";
    let cur = "";
    for (const c of rel.split("/")) {
      cur = join(cur, c);
      const n = this.#nodes.get(cur);
      if (n === undefined)
        this.#set(cur, { type: "directory", mode: 0o755, uid: 0, gid: 0, mtimeNs: now, size: 0 });
      else if (n.type !== "directory") throw new UnsafePathError(name, `parent "${cur}" is not a directory`);
    }
    return rel;
  }

  #set(path: string, node: IndexNode): void {
    const parent = parentOf(path);
    let kids = this.#children.get(parent);
    if (!kids) {
      kids = new Set();
      this.#children.set(parent, kids);
    }
    kids.add(path);
    this.#nodes.set(path, node);
  }

  #remove(path: string): void {
    if (path === "" || !this.#nodes.delete(path)) return;
    this.#children.get(parentOf(path))?.delete(path);
    this.#dropChildren(path);
  }

  #dropChildren(path: string): void {
    const kids = this.#children.get(path);
    if (!kids) return;
    this.#children.delete(path);
    for (const child of kids) {
      this.#nodes.delete(child);
      this.#dropChildren(child);
    }
  }

  #opaque(dir: string, layerSet: ReadonlySet<string>): void {
    if (this.#nodes.get(dir)?.type !== "directory") return;
    for (const child of [...(this.#children.get(dir) ?? [])]) {
      if (!layerSet.has(child)) this.#remove(child);
      else if (this.#nodes.get(child)?.type === "directory") this.#opaque(child, layerSet);
    }
  }
}
