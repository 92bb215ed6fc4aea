import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { lstat, readdir, readFile, readlink, realpath, stat } from "node:fs/promises";
import { join, resolve as resolvePath } from "node:path";
import { PassThrough, type Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { FileEntry } from "@molt/oci";
import createDebug from "debug";
import { byteOrder, isMissing, type WalkStart, walkBatches } from "./dir-walk.js";
import {
  type IgnoreMatcher,
  IgnoreMatcher as Matcher,
  type ParentMatches,
  parseDockerignore,
} from "./dockerignore.js";
import { toFileEntry } from "./entry.js";
import { BadPatternError, ContextNotFoundError, NotAFileError } from "./errors.js";
import { goMatch, hasMeta } from "./go-match.js";
import { cleanContextPath, goClean, joinContextPath } from "./paths.js";
import { resolveInRoot } from "./resolve.js";
import type { ContextSource, OpenContextOptions } from "./source.js";

const debug = createDebug("molt:context");

/** A lazy {@link DirectoryContext.walk} lists this many entries ahead of its consumer. */
const WALK_YIELD_BATCH = 256;

/**
 * A background {@link DirectoryContext.walkAll} gives other work a turn every this many names:
 * every I/O step of what the build waits on meanwhile (the digest memo's reads, the base image's
 * requests) then waits a few milliseconds at most, not the ~30 ms of the default 4096 names.
 */
const BACKGROUND_PAUSE = 256;

/** Options of {@link DirectoryContext}. */
export interface DirectoryContextOptions {
  /** Compiled `.dockerignore` (none: nothing ignored). */
  ignore?: IgnoreMatcher;
  /** Shown in {@link ContextSource.description}; defaults to `directory <root>`. */
  description?: string;
  /** Called once by {@link DirectoryContext.close} (e.g. to remove a temp dir). */
  onClose?: () => Promise<void>;
}

/**
 * A build context backed by a directory on local disk. Every other built-in source ends up here
 * after extracting or cloning into a private temp dir.
 *
 * @example
 * ```ts
 * const ctx = await openDirectoryContext("./app", { dockerfilePath: "Dockerfile" });
 * for await (const e of ctx.walk()) console.log(e.path, e.type, e.size);
 * await ctx.close();
 * ```
 */
export class DirectoryContext implements ContextSource {
  readonly description: string;
  /** Absolute real path of the context root. */
  readonly root: string;
  /** The `.dockerignore` rules in force. */
  readonly ignore: IgnoreMatcher;
  readonly #onClose: (() => Promise<void>) | undefined;
  readonly #hashes = new Map<string, Promise<string>>();
  #closed = false;

  /** `root` must be an absolute, symlink-free path to an existing directory. */
  constructor(root: string, options: DirectoryContextOptions = {}) {
    this.root = root;
    this.ignore = options.ignore ?? new Matcher([]);
    this.description = options.description ?? `directory ${root}`;
    this.#onClose = options.onClose;
  }

  isIgnored(path: string): boolean {
    const p = cleanContextPath(path);
    return p !== "" && !this.ignore.empty && this.ignore.matches(p);
  }

  async stat(path: string): Promise<FileEntry | undefined> {
    const wanted = cleanContextPath(path);
    const real = await resolveInRoot(this.root, wanted);
    const entry = await this.#lstatEntry(wanted, real);
    if (entry === undefined || real === "" || !this.isIgnored(real)) return entry;
    // An ignored directory still exists in docker's context when an exception re-includes
    // something below it.
    if (entry.type === "directory" && this.ignore.mayIncludeBelow(real)) {
      const start = await this.#walkStart(wanted, 1, undefined);
      if (start) for await (const _ of walkBatches(start)) return entry;
    }
    return undefined;
  }

  async *walk(dir = "", options: { signal?: AbortSignal } = {}): AsyncGenerator<FileEntry> {
    const start = await this.#walkStart(dir, WALK_YIELD_BATCH, options.signal);
    if (start === undefined) return;
    for await (const batch of walkBatches(start)) {
      for (const e of batch) {
        // Listed ahead in batches, so the signal is checked per entry here.
        options.signal?.throwIfAborted();
        yield e;
      }
    }
  }

  /**
   * Every entry {@link walk} yields, as one array: for a consumer that keeps them all anyway
   * (the build's shared context reads), without paying the async iteration per entry.
   */
  async walkAll(
    dir = "",
    options: { signal?: AbortSignal; background?: boolean } = {},
  ): Promise<FileEntry[]> {
    const start = await this.#walkStart(dir, Number.POSITIVE_INFINITY, options.signal);
    if (start === undefined) return [];
    if (options.background) start.pause = BACKGROUND_PAUSE;
    const all: FileEntry[] = [];
    for await (const batch of walkBatches(start)) for (const e of batch) all.push(e);
    return all;
  }

  /** Where a walk of `dir` starts; undefined when `.dockerignore` leaves nothing below it. */
  async #walkStart(
    dir: string,
    batch: number,
    signal: AbortSignal | undefined,
  ): Promise<WalkStart | undefined> {
    const wanted = cleanContextPath(dir);
    const real = await resolveInRoot(this.root, wanted, true);
    let st: Awaited<ReturnType<typeof lstat>>;
    try {
      st = await lstat(join(this.root, real));
    } catch (e) {
      if (isMissing(e))
        throw new ContextNotFoundError(wanted || ".", "directory in the build context", { cause: e });
      throw e;
    }
    if (!st.isDirectory()) throw new ContextNotFoundError(wanted, "directory in the build context");
    let info: ParentMatches;
    let ignored = false;
    if (!this.ignore.empty && real !== "") {
      const parts = real.split("/");
      for (let i = 1; i <= parts.length; i++) {
        const r = this.ignore.matchWithParent(parts.slice(0, i).join("/"), info);
        info = r.info;
        ignored = r.matched;
      }
      if (ignored && !this.ignore.mayIncludeBelow(real)) return undefined;
    }
    return { root: this.root, ignore: this.ignore, real, out: wanted, info, batch, signal };
  }

  async glob(pattern: string): Promise<string[]> {
    let p = goClean(pattern);
    while (p.startsWith("/")) p = p.slice(1);
    if (p === "." || p === "") return [""];
    if (!hasMeta(p)) {
      const e = await this.stat(p);
      return e ? [e.path] : [];
    }
    cleanContextPath(p); // throws ContextEscapeError for a `..` above the root
    const parts = p.split("/");
    for (const part of parts)
      if (goMatch(part, ".") === "bad") throw new BadPatternError(pattern, "COPY source");
    const found: string[] = [];
    const step = async (real: string, out: string, index: number): Promise<void> => {
      const part = parts[index] as string;
      const last = index === parts.length - 1;
      let candidates: string[];
      if (!hasMeta(part)) {
        candidates = [part.replaceAll("\\", "")];
      } else {
        let names: string[];
        try {
          names = await readdir(join(this.root, real));
        } catch (e) {
          if (isMissing(e)) return;
          throw e;
        }
        candidates = names.filter((n) => goMatch(part, n) === true);
      }
      for (const name of candidates.sort(byteOrder)) {
        const childOut = joinContextPath(out, name);
        if (last) {
          const e = await this.stat(childOut);
          if (e) found.push(e.path);
          continue;
        }
        // Wildcard components do not descend through symlinks (docker walks with lstat);
        // literal ones are resolved inside the root.
        const childReal = hasMeta(part)
          ? joinContextPath(real, name)
          : await resolveInRoot(this.root, joinContextPath(real, name), true);
        try {
          const st = await lstat(join(this.root, childReal));
          if (st.isDirectory()) await step(childReal, childOut, index + 1);
        } catch (e) {
          if (!isMissing(e)) throw e;
        }
      }
    };
    await step("", "", 0);
    return found.sort(byteOrder);
  }

  open(path: string): Readable {
    const out = new PassThrough();
    (async () => {
      const wanted = cleanContextPath(path);
      const real = await resolveInRoot(this.root, wanted);
      if (this.isIgnored(real)) throw new ContextNotFoundError(wanted, "file in the build context");
      const abs = join(this.root, real);
      let st: Awaited<ReturnType<typeof lstat>>;
      try {
        st = await lstat(abs);
      } catch (e) {
        if (isMissing(e)) throw new ContextNotFoundError(wanted, "file in the build context", { cause: e });
        throw e;
      }
      if (!st.isFile()) throw new NotAFileError(wanted);
      await pipeline(createReadStream(abs), out);
    })().catch((e: unknown) => out.destroy(e as Error));
    return out;
  }

  hash(path: string, options: { signal?: AbortSignal } = {}): Promise<string> {
    const wanted = cleanContextPath(path);
    let h = this.#hashes.get(wanted);
    if (h === undefined) {
      h = this.#computeHash(wanted, options.signal);
      this.#hashes.set(wanted, h);
      h.catch(() => this.#hashes.delete(wanted));
    }
    return h;
  }

  async #computeHash(path: string, signal: AbortSignal | undefined): Promise<string> {
    const entry = await this.stat(path);
    if (entry === undefined) throw new ContextNotFoundError(path || ".", "path in the build context");
    const h = createHash("sha256");
    if (entry.type === "file") {
      await pipeline(createReadStream(entry.source as string, { signal }), h);
    } else if (entry.type === "directory") {
      h.update(`d ${entry.mode.toString(8)}\n`);
      const base = entry.path === "" ? 0 : entry.path.length + 1;
      for await (const e of this.walk(path, { signal })) {
        const content = e.type === "file" ? await this.hash(e.path, { signal }) : "";
        h.update(
          `${e.path.slice(base)}\0${e.type}\0${e.mode.toString(8)}\0${e.linkTarget ?? ""}\0${content}\n`,
        );
      }
    } else {
      h.update(
        `${entry.type}\0${entry.mode.toString(8)}\0${entry.linkTarget ?? ""}\0${entry.devMajor ?? ""}:${entry.devMinor ?? ""}`,
      );
    }
    return `sha256:${h.digest("hex")}`;
  }

  async readRaw(path: string): Promise<Buffer | undefined> {
    const real = await resolveInRoot(this.root, cleanContextPath(path), true);
    try {
      return await readFile(join(this.root, real));
    } catch (e) {
      if (isMissing(e) || (e as NodeJS.ErrnoException).code === "EISDIR") return undefined;
      throw e;
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#onClose?.();
  }

  async #lstatEntry(wanted: string, real: string): Promise<FileEntry | undefined> {
    const abs = join(this.root, real);
    try {
      const st = await lstat(abs, { bigint: true });
      return toFileEntry(wanted, abs, st, st.isSymbolicLink() ? await readlink(abs) : undefined);
    } catch (e) {
      if (isMissing(e)) return undefined;
      throw e;
    }
  }
}

/**
 * Reads the `.dockerignore` rules for a context: `<Dockerfile>.dockerignore` beside the
 * Dockerfile when it exists, else `.dockerignore` at the context root, else none.
 * `dockerfilePath` is absolute (anywhere on disk) or relative; a relative one is looked up the
 * way {@link readDockerfile} finds the Dockerfile: relative to `cwd` and inside the context, in
 * the order `prefer` gives (default `"cwd"` first, kaniko's order).
 */
export async function loadIgnore(
  root: string,
  dockerfilePath?: string,
  options: { prefer?: "cwd" | "context"; cwd?: string } = {},
): Promise<IgnoreMatcher> {
  const candidates: string[] = [];
  if (dockerfilePath && dockerfilePath !== "-" && !/^[a-z][a-z0-9+.-]*:\/\//i.test(dockerfilePath)) {
    if (dockerfilePath.startsWith("/")) candidates.push(`${dockerfilePath}.dockerignore`);
    else {
      const rel = cleanContextPath(dockerfilePath);
      const inContext = async () => {
        const real = await resolveInRoot(root, rel, true);
        return (await isFile(join(root, real)))
          ? join(root, await resolveInRoot(root, `${rel}.dockerignore`, true))
          : undefined;
      };
      const inCwd = async () => {
        const abs = resolvePath(options.cwd ?? process.cwd(), dockerfilePath);
        return (await isFile(abs)) ? `${abs}.dockerignore` : undefined;
      };
      const order = options.prefer === "context" ? [inContext, inCwd] : [inCwd, inContext];
      for (const look of order) {
        const found = await look();
        if (found) {
          candidates.push(found);
          break;
        }
      }
    }
  }
  candidates.push(join(root, ".dockerignore"));
  for (const file of candidates) {
    let text: string;
    try {
      text = await readFile(file, "utf8");
    } catch (e) {
      if (isMissing(e) || (e as NodeJS.ErrnoException).code === "EISDIR") continue;
      throw e;
    }
    debug("using ignore file %s", file);
    return new Matcher(parseDockerignore(text));
  }
  return new Matcher([]);
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

/**
 * Opens a directory on local disk as a build context, with `.dockerignore` and an optional
 * sub-directory (kaniko's `--context-sub-path`).
 *
 * @throws {@link ContextNotFoundError} when the directory (or sub-path) does not exist.
 */
export async function openDirectoryContext(
  dir: string,
  options: OpenContextOptions & { onClose?: () => Promise<void>; description?: string } = {},
): Promise<DirectoryContext> {
  const given = resolvePath(options.cwd ?? process.cwd(), dir);
  let root: string;
  try {
    root = await realpath(given);
  } catch (e) {
    if (isMissing(e)) throw new ContextNotFoundError(given, "context path", { cause: e });
    throw e;
  }
  if (options.subPath) {
    const sub = await resolveInRoot(root, cleanContextPath(options.subPath), true);
    root = join(root, sub);
    const st = await lstat(root).catch(() => undefined);
    if (!st?.isDirectory())
      throw new ContextNotFoundError(`${given}/${cleanContextPath(options.subPath)}`, "context sub-path");
  } else if (!(await lstat(root)).isDirectory()) {
    throw new ContextNotFoundError(given, "context directory", {
      message: `context path is not a directory: ${given} (for a tarball use tar://${given})`,
    });
  }
  const ignore = options.ignorePatterns
    ? new Matcher(options.ignorePatterns)
    : await loadIgnore(root, options.dockerfilePath, {
        ...(options.dockerfilePrefer ? { prefer: options.dockerfilePrefer } : {}),
        ...(options.cwd ? { cwd: options.cwd } : {}),
      });
  const ctx = new DirectoryContext(root, {
    ignore,
    description: options.description ?? `directory ${root}`,
    ...(options.onClose ? { onClose: options.onClose } : {}),
  });
  options.onProgress?.({ type: "molt:context:ready", description: ctx.description });
  return ctx;
}

export { byteOrder, isMissing };
