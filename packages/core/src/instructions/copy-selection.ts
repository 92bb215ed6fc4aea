import { posix } from "node:path";
import type { ContextSource } from "@molt/context-source";
import { type FileEntry, posixJoin } from "./copy-paths.js";

/** One source of a COPY, resolved against the context. */
export interface SelectedSource {
  /** The source as written (after expansion), for error messages. */
  written: string;
  /** The context entry the source names. */
  entry: FileEntry;
}

const GLOB_CHARS = /[*?[\\]/;

/** Normalises a COPY source to a context-relative path ("" for the root). */
export function contextPath(source: string): string {
  const parts: string[] = [];
  for (const seg of source.split("/")) {
    if (seg === "" || seg === ".") continue;
    if (seg === "..") parts.pop();
    else parts.push(seg);
  }
  return parts.join("/");
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
  for await (const e of context.walk(dir.path, signal ? { signal } : {})) {
    if (e.path === dir.path) continue;
    const rel = prefix && e.path.startsWith(prefix) ? e.path.slice(prefix.length) : e.path;
    yield { ...e, path: posixJoin(destDir, rel) };
  }
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
  let current = entry;
  for (let hops = 0; current?.type === "symlink" && current.linkTarget !== undefined && hops < 40; hops++) {
    const target = current.linkTarget.startsWith("/")
      ? contextPath(current.linkTarget)
      : contextPath(posix.join(posix.dirname(current.path), current.linkTarget));
    const next = await context.stat(target);
    if (!next) return current === entry ? entry : current;
    current = next;
  }
  if (!current || current === entry || !entry) return current;
  return current.type === "directory" ? current : { ...current, path: entry.path };
}
