import type { ContextSource } from "@molt/context-source";
import type { FileEntry } from "@molt/oci";
import { type PendingXattrReader, startXattrReader } from "@molt/snapshotter";
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
  /** Walks started ahead of their first consumer ({@link prefetch}), by directory. */
  readonly #ahead = new Map<string, Promise<readonly FileEntry[] | undefined>>();
  /** Content digests (`sha256:…`) the keys took, by the file's `source` path. */
  readonly digests = new Map<string, string>();
  /** Capabilities the keys read, by `source` path (`null`: checked, none). */
  readonly caps = new Map<string, Buffer | null>();
  #replayed = 0;
  /** A `getfattr` started ahead for the first capabilities the keys read ({@link takeXattrReader}). */
  #xattrs: PendingXattrReader | undefined;

  /** The entries of `context.walk(dir)`, from the first complete walk of `dir` in this build. */
  async *walk(context: ContextSource, dir: string, signal?: AbortSignal): AsyncGenerator<FileEntry> {
    const known = this.#walks.get(dir);
    if (known) {
      this.#replayed++;
      debug("walk of %s shared (%d entries)", dir || ".", known.length);
    }
    const all = known ?? (await this.#fromAhead(dir));
    if (all) {
      for (const e of all) {
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
    // A walk started ahead is this one (not a replay); one that failed is walked again here, so
    // its error, if it is one still, is this caller's.
    const ahead = await this.#fromAhead(dir);
    if (ahead) return ahead;
    const seen = await walkAllOf(context, dir, signal);
    this.#walks.set(dir, seen);
    return seen;
  }

  /**
   * Starts the complete walk of `dir` now, for a consumer to come ({@link entries}, {@link walk}):
   * the build walks the directories its first COPY steps read while its base image is resolved
   * and the digest memo read, work that waits on the network or the disk (a 20,000-file
   * context's walk is ~150 ms of main thread). Its failure is nobody's: the consumer walks again.
   * Returns when the walk has ended, either way.
   */
  prefetch(context: ContextSource, dir: string, signal?: AbortSignal): Promise<void> {
    if (this.#walks.has(dir) || this.#ahead.has(dir)) return Promise.resolve();
    const walk = walkAllOf(context, dir, signal, true).then(
      (all): readonly FileEntry[] => all,
      (e: unknown) => {
        debug("walk of %s ahead failed: %s", dir || ".", e);
        return undefined;
      },
    );
    this.#ahead.set(dir, walk);
    return walk.then(() => {});
  }

  /** The entries of a walk started ahead (moved to the complete walks), undefined when there was none or it failed. */
  async #fromAhead(dir: string): Promise<readonly FileEntry[] | undefined> {
    const ahead = this.#ahead.get(dir);
    if (!ahead) return undefined;
    const all = await ahead;
    if (this.#ahead.get(dir) === ahead) this.#ahead.delete(dir);
    if (all && !this.#walks.has(dir)) this.#walks.set(dir, all);
    return this.#walks.get(dir);
  }

  /**
   * Starts the `getfattr` helper (`xargs -0 getfattr`, see the snapshotter's startXattrReader)
   * that the first COPY key with a file the digest memo does not vouch for reads capabilities
   * with: its process start then falls beside the walks ahead, not in the keys (a fork of the
   * grown process cost 5-15 ms of main thread there).
   */
  startXattrReader(): void {
    this.#xattrs ??= startXattrReader();
  }

  /** The helper of {@link startXattrReader}, for one read; undefined once taken (or never started). */
  takeXattrReader(): PendingXattrReader | undefined {
    const r = this.#xattrs;
    this.#xattrs = undefined;
    return r;
  }

  /** Stops a helper nobody took. */
  close(): void {
    this.takeXattrReader()?.cancel();
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
    reads.close();
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

async function walkAllOf(
  context: ContextSource,
  dir: string,
  signal?: AbortSignal,
  background = false,
): Promise<FileEntry[]> {
  const options = signal ? { signal } : {};
  if (context.walkAll) return context.walkAll(dir, background ? { ...options, background } : options);
  const all: FileEntry[] = [];
  for await (const e of context.walk(dir, options)) all.push(e);
  return all;
}
