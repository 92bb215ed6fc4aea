import { cleanLexicalPath, cleanRootPath, PathResolveError } from "@molt/oci";
import { ContextEscapeError } from "./errors.js";

/**
 * Cleans a path given relative to the context root into the canonical form used by
 * `FileEntry.path`: `/` separators (a `\` is an ordinary character, as on Linux), no `.` or empty components, no leading `/` or `./`,
 * `""` for the root. A leading `/` means the context root (as in `COPY /app .`). A `..` that
 * would climb above the root throws {@link ContextEscapeError}.
 */
export function cleanContextPath(path: string): string {
  try {
    return cleanRootPath(path, { dotdot: "refuse" });
  } catch (e) {
    if (e instanceof PathResolveError) throw new ContextEscapeError(path);
    throw e;
  }
}

/**
 * Go `path.Clean` for slash-separated paths (used for patterns, where `..` is kept textually):
 * `cleanLexicalPath` of `@molt/oci`, the one module for paths. Returns `"."` for an empty result.
 */
export function goClean(path: string): string {
  return cleanLexicalPath(path);
}

/** Joins a context-relative directory and a name. */
export function joinContextPath(dir: string, name: string): string {
  return dir === "" ? name : `${dir}/${name}`;
}

/** The parent of a context-relative path (`""` for a top-level entry). */
export function parentContextPath(path: string): string {
  const i = path.lastIndexOf("/");
  return i < 0 ? "" : path.slice(0, i);
}
