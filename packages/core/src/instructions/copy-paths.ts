export type { FileEntry } from "@molt/oci";

/** Joins layer path segments, dropping empties. */
export function posixJoin(...parts: string[]): string {
  return parts
    .flatMap((p) => p.split("/"))
    .filter((s) => s !== "" && s !== ".")
    .join("/");
}

/** The ancestors of a layer path, outermost first (`a/b/c` → `a`, `a/b`). */
export function ancestors(path: string): string[] {
  const segs = path.split("/").filter(Boolean);
  const out: string[] = [];
  for (let i = 1; i < segs.length; i++) out.push(segs.slice(0, i).join("/"));
  return out;
}

/** Base name of a layer path. */
export function baseName(path: string): string {
  const i = path.lastIndexOf("/");
  return i < 0 ? path : path.slice(i + 1);
}
