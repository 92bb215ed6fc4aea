import type { ContextSource } from "@molt/context-source";
import type { FileEntry } from "@molt/oci";
import createDebug from "debug";

const debug = createDebug("molt:cache");

/**
 * What one build has read of its build context, shared between the cache keys (planned first)
 * and the COPY/ADD steps that then copy the same files: the entries of each walked directory,
 * the content digest of each file the keys hashed, and each file's capabilities. A directory
 * the keys walked is not walked again by the COPY that copies it (one walk, as BuildKit sends a
 * context once per build), and the layer writer can tell which files it may take from the
 * previous layer of the step by their digest (see `copy-reuse.ts`).
 *
 * Attached to the context for the duration of one build only ({@link shareContextReads}).
 */
export class ContextReads {
  readonly #walks = new Map<string, readonly FileEntry[]>();
  /** Content digests (`sha256:…`) the keys took, by the file's `source` path. */
  readonly digests = new Map<string, string>();
  /** Capabilities the keys read, by `source` path (`null`: checked, none). */
  readonly caps = new Map<string, Buffer | null>();
  #replayed = 0;

  /** The entries of `context.walk(dir)`, from the first complete walk of `dir` in this build. */
  async *walk(context: ContextSource, dir: string, signal?: AbortSignal): AsyncGenerator<FileEntry> {
    const known = this.#walks.get(dir);
    if (known) {
      this.#replayed++;
      debug("walk of %s shared (%d entries)", dir || ".", known.length);
      for (const e of known) {
        signal?.throwIfAborted();
        yield e;
      }
      return;
    }
    const seen: FileEntry[] = [];
    for await (const e of context.walk(dir, signal ? { signal } : {})) {
      seen.push(e);
      yield e;
    }
    // Only a walk that ran to its end is kept (a consumer may stop early).
    this.#walks.set(dir, seen);
  }

  /** Every entry of `context.walk(dir)` as one array, shared like {@link walk}'s. */
  async entries(context: ContextSource, dir: string, signal?: AbortSignal): Promise<readonly FileEntry[]> {
    const known = this.#walks.get(dir);
    if (known) {
      this.#replayed++;
      debug("walk of %s shared (%d entries)", dir || ".", known.length);
      return known;
    }
    const seen = await walkAllOf(context, dir, signal);
    this.#walks.set(dir, seen);
    return seen;
  }

  /** How many walks were answered from an earlier one. */
  get replayed(): number {
    return this.#replayed;
  }
}

const attached = new WeakMap<ContextSource, ContextReads>();

/**
 * Shares the reads of `context` among the steps of one build until the returned function is
 * called (at the build's end). Only for the build context: another stage's root can change.
 */
export function shareContextReads(context: ContextSource): () => void {
  const reads = new ContextReads();
  attached.set(context, reads);
  return () => {
    if (attached.get(context) === reads) attached.delete(context);
  };
}

/** The shared reads of `context` in the running build, if any. */
export function contextReadsOf(context: ContextSource): ContextReads | undefined {
  return attached.get(context);
}

/** `context.walk(dir)`, shared with the build's earlier complete walk of the same directory. */
export function walkContext(
  context: ContextSource,
  dir: string,
  signal?: AbortSignal,
): AsyncIterable<FileEntry> {
  const reads = attached.get(context);
  return reads ? reads.walk(context, dir, signal) : context.walk(dir, signal ? { signal } : {});
}

/**
 * Every entry of `context.walk(dir)`, in its order, as one array: shared with the build's
 * earlier complete walk of the same directory, and taken with the source's `walkAll` when it
 * has one (no async iteration per entry).
 */
export function walkContextAll(
  context: ContextSource,
  dir: string,
  signal?: AbortSignal,
): Promise<readonly FileEntry[]> {
  const reads = attached.get(context);
  return reads ? reads.entries(context, dir, signal) : walkAllOf(context, dir, signal);
}

async function walkAllOf(context: ContextSource, dir: string, signal?: AbortSignal): Promise<FileEntry[]> {
  const options = signal ? { signal } : {};
  if (context.walkAll) return context.walkAll(dir, options);
  const all: FileEntry[] = [];
  for await (const e of context.walk(dir, options)) all.push(e);
  return all;
}
