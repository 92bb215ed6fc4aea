import { createHash } from "node:crypto";
import type { ContextSource } from "@molt/context-source";
import type { FileEntry } from "@molt/oci";
import type { KeyInput } from "./key.js";

/** How COPY/ADD sources are hashed for a key. */
export interface SourceDigestOptions {
  /** `--chmod` as a number: with `normalizeModes`, it replaces the source mode in the key. */
  chmod?: number | undefined;
  /** `--cache-normalize-modes`: hash the mode the step gives (chmod, else group/other write masked). */
  normalizeModes?: boolean;
  /** Entries to leave out (COPY --exclude), matched against paths relative to a copied directory. */
  exclude?: (relPath: string) => boolean;
  signal?: AbortSignal;
}

/** Per-file inputs are recorded (for "app/main.py content changed") up to this many entries per step. */
const MAX_FILE_INPUTS = 200;

/**
 * Key inputs for the sources a COPY/ADD reads from the build context (already filtered by
 * `.dockerignore`): for each source, one `src:<path>` input over every entry it copies (relative
 * path, type, mode, uid:gid, symlink target, content digest; never mtime), and while the step
 * copies few entries, one `file:<path>` input per entry so a miss can name the file that changed.
 */
export async function sourceInputs(
  context: ContextSource,
  sources: readonly FileEntry[],
  options: SourceDigestOptions = {},
): Promise<KeyInput[]> {
  const files: KeyInput[] = [];
  const tops: KeyInput[] = [];
  let total = 0;
  for (const top of sources) {
    const h = createHash("sha256");
    const line = async (e: FileEntry, rel: string) => {
      const content = e.type === "file" ? await context.hash(e.path, signalOpt(options)) : "";
      const mode = modeFor(e, options);
      const text = `${rel}\0${e.type}\0${mode.toString(8)}\0${e.uid}:${e.gid}\0${e.linkTarget ?? ""}\0${content}`;
      h.update(`${text}\n`);
      if (e.type !== "directory" && ++total <= MAX_FILE_INPUTS)
        files.push({ name: `file:${e.path}`, digest: digestText(text) });
    };
    await line(top, "");
    if (top.type === "directory") {
      const prefix = top.path === "" ? "" : `${top.path}/`;
      const pruned: string[] = [];
      for await (const e of context.walk(top.path, signalOpt(options))) {
        if (e.path === top.path) continue;
        const rel = prefix && e.path.startsWith(prefix) ? e.path.slice(prefix.length) : e.path;
        if (options.exclude) {
          if (pruned.some((d) => rel.startsWith(`${d}/`))) continue;
          if (options.exclude(rel)) {
            if (e.type === "directory") pruned.push(rel);
            continue;
          }
        }
        await line(e, rel);
      }
    }
    tops.push({ name: `src:${top.path === "" ? "." : top.path}`, digest: `sha256:${h.digest("hex")}` });
  }
  return total <= MAX_FILE_INPUTS ? [...files, ...tops] : tops;
}

function modeFor(e: FileEntry, options: SourceDigestOptions): number {
  if (!options.normalizeModes || e.type === "symlink") return e.mode;
  return options.chmod ?? e.mode & ~0o022;
}

function digestText(text: string): string {
  return `sha256:${createHash("sha256").update(text).digest("hex")}`;
}

function signalOpt(options: SourceDigestOptions): { signal?: AbortSignal } {
  return options.signal ? { signal: options.signal } : {};
}
