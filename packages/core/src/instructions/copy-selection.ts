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
 * Returns the sources that matched and those that did not (the caller decides the error).
 */
export async function selectSources(
  context: ContextSource,
  sources: readonly string[],
): Promise<{ selected: SelectedSource[]; missing: string[] }> {
  const selected: SelectedSource[] = [];
  const missing: string[] = [];
  for (const written of sources) {
    const rel = contextPath(written);
    const matches = GLOB_CHARS.test(rel) ? await context.glob(rel) : [rel];
    let found = 0;
    for (const m of matches) {
      const entry = await context.stat(m);
      if (entry) {
        selected.push({ written, entry });
        found++;
      }
    }
    if (found === 0) missing.push(written);
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
