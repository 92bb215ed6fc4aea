export type { FileEntry } from "@molt/oci";

/**
 * Joins layer path segments, dropping empty and `.` segments. A part that is already clean (no
 * leading, trailing or doubled slash, no `.` segment: every path of a walk) is taken whole
 * instead of being split (a COPY of 20,000 files joins each path twice).
 */
export function posixJoin(...parts: string[]): string {
  let out = "";
  for (const p of parts) {
    if (p === "" || p === ".") continue;
    const seg = isClean(p)
      ? p
      : p
          .split("/")
          .filter((s) => s !== "" && s !== ".")
          .join("/");
    if (seg !== "") out = out === "" ? seg : `${out}/${seg}`;
  }
  return out;
}

/**
 * Moves source paths below `strip` (a directory's path and a slash, or `""`) under `under` (a
 * clean layer path, `""` for the root): `path` → `posixJoin(under, path without strip)`. When
 * `strip` is `under` and a slash (`COPY files/ /files/`), a clean path is returned as it is: the
 * same string, not a new one per entry (~6 ms for 20,000 files, and their copies' memory).
 */
export function reRoot(strip: string, under: string): (path: string) => string {
  const same = strip === (under === "" ? "" : `${under}/`);
  return (path) => {
    const below = path.startsWith(strip);
    // Clean and `under/` + the rest, so also `under` joined to a clean rest.
    if (same && below && isClean(path)) return path;
    return posixJoin(under, strip !== "" && below ? path.slice(strip.length) : path);
  };
}

/** A non-empty path part with no empty or `.` segment. */
function isClean(p: string): boolean {
  return (
    p.charCodeAt(0) !== 47 &&
    p.charCodeAt(p.length - 1) !== 47 &&
    !p.includes("//") &&
    !p.startsWith("./") &&
    !p.endsWith("/.") &&
    !p.includes("/./")
  );
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
