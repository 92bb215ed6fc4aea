import type { ContextSource } from "@molt/context-source";
import { cleanRootPath, resolvePathAsync } from "@molt/oci";
import { contextReadsOf, walkContext, walkContextAll } from "../cache/context-reads.js";
import { type FileEntry, posixJoin } from "./copy-paths.js";

/** One source of a COPY, resolved against the context. */
export interface SelectedSource {
  /** The source as written (after expansion), for error messages. */
  written: string;
  /** The context entry the source names. */
  entry: FileEntry;
}

const GLOB_CHARS = /[*?[\\]/;

/** Normalises a COPY source to a context-relative path ("" for the root): the one cleaner, `cleanRootPath` of `@molt/oci`. */
export function contextPath(source: string): string {
  return cleanRootPath(source);
}

/**
 * Resolves COPY sources to context entries: plain paths by `stat`, wildcard sources by `glob`.
 * Returns the sources that matched and the plain paths that did not exist (the caller decides
 * the error); a wildcard matching nothing is neither.
 */
export async function selectSources(
  context: ContextSource,
  sources: readonly string[],
): Promise<{ selected: SelectedSource[]; missing: string[] }> {
  const selected: SelectedSource[] = [];
  const missing: string[] = [];
  for (const written of sources) {
    const rel = contextPath(written);
    const wildcard = GLOB_CHARS.test(rel);
    const matches = wildcard ? await context.glob(rel) : [rel];
    let found = 0;
    for (const m of matches) {
      const entry = await followSymlinks(context, await context.stat(m));
      if (entry) {
        selected.push({ written, entry });
        found++;
      }
    }
    // A wildcard that matches nothing copies nothing (BuildKit's AllowEmptyWildcard); a plain
    // path that does not exist is an error.
    if (found === 0 && !wildcard) missing.push(written);
  }
  return { selected, missing };
}

/** All entries under a context directory, re-rooted under `destDir` (a layer path). */
export async function* entriesUnder(
  context: ContextSource,
  dir: FileEntry,
  destDir: string,
  signal?: AbortSignal,
): AsyncIterable<FileEntry> {
  const prefix = dir.path === "" ? "" : `${dir.path}/`;
  for await (const e of walkContext(context, dir.path, signal)) {
    if (e.path === dir.path) continue;
    const rel = prefix && e.path.startsWith(prefix) ? e.path.slice(prefix.length) : e.path;
    yield { ...e, path: posixJoin(destDir, rel) };
  }
}

/**
 * A directory's contents as one walk listed them, taken at once: each entry keeps the source's
 * own path, which starts with `strip`.
 * A walk names each path once and a directory before its contents (ContextSource.walk).
 */
export interface ListedContents {
  /** The directory's own path (`""` for the root), never one of `entries`. */
  dir: string;
  /** The walk's entries, in its order, as the source gave them (not to be changed). */
  entries: readonly FileEntry[];
  /** The prefix of every entry's path: `dir` and a slash, `""` for the root. */
  strip: string;
}

/**
 * The entries under a context directory as one array, when the build shares its context reads
 * (the keys walked the directory already and the array is kept for the build anyway): the copy
 * then takes the walk's own entries, without {@link entriesUnder}'s async step and re-rooted copy
 * per entry. Undefined when the reads are not shared (a stream does not hold them all).
 */
export function listedUnder(
  context: ContextSource,
  dir: FileEntry,
  signal?: AbortSignal,
): (() => Promise<ListedContents>) | undefined {
  if (contextReadsOf(context) === undefined) return undefined;
  const strip = dir.path === "" ? "" : `${dir.path}/`;
  return async () => ({ dir: dir.path, entries: await walkContextAll(context, dir.path, signal), strip });
}

/**
 * A source named by COPY/ADD that is a symlink is copied as what it points to (BuildKit follows
 * the named source, not symlinks inside a copied directory). The target is resolved inside the
 * context: `..` stops at its root, so a link can never reach outside. A file keeps the name it
 * was named by; a directory is walked at its real path. A dangling link is copied as a link.
 */
async function followSymlinks(
  context: ContextSource,
  entry: FileEntry | undefined,
): Promise<FileEntry | undefined> {
  if (entry?.type !== "symlink") return entry;
  // The one resolver, over what the context shows (an ignored path is absent).
  const lookup = async (rel: string) => {
    const e = await context.stat(rel);
    return e && { type: e.type, linkTarget: e.linkTarget };
  };
  const resolved = await resolvePathAsync(lookup, entry.path).catch(() => undefined); // a loop: the link itself
  if (!resolved || resolved.missing.length > 0) return entry; // dangling: copied as a link
  const target = await context.stat(resolved.path);
  if (!target) return entry;
  return target.type === "directory" ? target : { ...target, path: entry.path };
}
