import type { Readable } from "node:stream";
import type { FileEntry } from "@molt/oci";

/** Progress of opening a context, as a discriminated union on `type`. */
export type ContextProgressEvent =
  | { type: "molt:context:download"; url: string; bytes: number; total?: number }
  | { type: "molt:context:extract"; entries: number; bytes: number }
  | { type: "molt:context:clone"; url: string; ref?: string; phase: "start" | "done" }
  | { type: "molt:context:ready"; description: string };

/** Options every context factory receives from {@link openContext}. */
export interface OpenContextOptions {
  /** A directory inside the context to use as the root (kaniko's `--context-sub-path`). */
  subPath?: string;
  /**
   * The Dockerfile: an absolute path on disk, or a relative path found like
   * {@link readDockerfile} finds it (relative to the cwd and inside the context, in the order
   * `dockerfilePrefer` gives). Its `<Dockerfile>.dockerignore` sibling takes precedence over the
   * root `.dockerignore`.
   */
  dockerfilePath?: string;
  /** Where a relative `dockerfilePath` is looked for first: `"cwd"` (default, kaniko) or `"context"`. */
  dockerfilePrefer?: "cwd" | "context";
  /** The directory a relative `dockerfilePath` (and a relative directory spec) is relative to; default `process.cwd()`. */
  cwd?: string;
  /** Patterns to use instead of reading any `.dockerignore` (for callers that read it themselves). */
  ignorePatterns?: readonly string[];
  /** Aborts fetching/extracting; temp dirs made so far are removed. */
  signal?: AbortSignal;
  /** Receives typed progress events. */
  onProgress?: (e: ContextProgressEvent) => void;
  /** Downloaded tarballs (https, gs): refuse bodies larger than this many bytes (default 2 GiB). */
  maxBytes?: number;
  /** Tarballs: refuse archives whose files add up to more than this many bytes (default 16 GiB). */
  maxExtractedBytes?: number;
  /** Tarballs: refuse archives with more entries than this (default 1,000,000). */
  maxEntries?: number;
  /** https/gs tarballs: expected `sha256:<hex>` of the downloaded bytes. */
  checksum?: string;
  /** https: extra trusted CA certificates (PEM); TLS is always verified. */
  ca?: string | Buffer | readonly (string | Buffer)[];
  /** gs://: API endpoint of the JSON API (otherwise `STORAGE_EMULATOR_HOST` or Google's). */
  apiEndpoint?: string;
  /**
   * s3://: endpoint of an S3-compatible service (otherwise kaniko's `S3_ENDPOINT`, else AWS's);
   * path-style addressing is used with a custom endpoint (or `S3_FORCE_PATH_STYLE=true`).
   */
  s3Endpoint?: string;
  /** gs://: how many times the client library retries a failed request (default 3). */
  retries?: number;
  /** git: also fetch submodules (recursively, shallow). */
  submodules?: boolean;
  /** git: kaniko's `--git` settings (branch, depth, submodules, TLS). */
  git?: GitContextOptions;
  /** tar://stdin: the stream to read instead of `process.stdin`. */
  stdin?: Readable;
  /** Parent directory for temp dirs (default `os.tmpdir()`). */
  tmpDir?: string;
}

/** How a git context is fetched (kaniko's `--git branch=…,depth=…,…`). */
export interface GitContextOptions {
  /** Branch or tag to fetch when the URL names none (`#ref` in the URL wins). */
  branch?: string;
  /** Fetch only that branch (molt always fetches only the ref it builds; `false` changes nothing in the context). */
  singleBranch?: boolean;
  /** Fetch submodules recursively (same as `submodules`). */
  recurseSubmodules?: boolean;
  /** Commits of history to fetch (default 1); `0` fetches the whole history. */
  depth?: number;
  /** Do not verify the https remote's TLS certificate (`GIT_SSL_NO_VERIFY`); only when asked. */
  insecureSkipTls?: boolean;
  /**
   * Keep the repository as `.git` in the tree (BuildKit's `ADD --keep-git-dir=true`): HEAD
   * detached at the commit, the fetched branch or tag as a local ref, `origin` the remote with
   * any password replaced by `xxxxx`, reflogs expired. Only without a `#ref:subdir`, as BuildKit.
   */
  keepGitDir?: boolean;
}

/**
 * A read-only view of a build context. Every path is relative to the context root (`""` or `"."`
 * is the root), uses `/`, and can never resolve outside the root: `..` above the root throws
 * {@link ContextEscapeError}, symlinks are reported as symlinks and never followed out.
 * Ignored paths (`.dockerignore`) are invisible to {@link ContextSource.stat},
 * {@link ContextSource.walk} and {@link ContextSource.glob}.
 */
export interface ContextSource {
  /** Human description, e.g. `directory /abs/path` or `git https://host/repo.git#main`. */
  readonly description: string;
  /** Absolute path of the context root on local disk (every built-in source has one). */
  readonly root: string;
  /** lstat of one path; `undefined` when absent or ignored. */
  stat(path: string): Promise<FileEntry | undefined>;
  /**
   * Every entry below `dir` (default the root; `dir` itself is not yielded), depth first, a
   * directory before its contents, siblings in byte order of their names; ignored paths left
   * out; symlinks never followed. An ignored directory that holds a re-included path (`!`
   * exception) is yielded just before that path, as docker sends it.
   */
  walk(dir?: string, options?: { signal?: AbortSignal }): AsyncIterable<FileEntry>;
  /**
   * Every entry {@link walk} yields, in its order, as one array (optional: a source without it
   * is walked with {@link walk}). For a consumer that keeps every entry anyway. `background`:
   * the walk gives other work a turn every few hundred entries instead of every few thousand
   * (for a walk made ahead of its consumer, beside work that waits on I/O).
   */
  walkAll?(dir?: string, options?: { signal?: AbortSignal; background?: boolean }): Promise<FileEntry[]>;
  /** Docker COPY source matching: `filepath.Match` per path component; sorted; ignored excluded. */
  glob(pattern: string): Promise<string[]>;
  /** The bytes of a regular file. Throws {@link NotAFileError} for anything else. */
  open(path: string): Readable;
  /** Whether `.dockerignore` excludes this path. */
  isIgnored(path: string): boolean;
  /**
   * A content hash for cache keys, computed only when asked and memoised: `sha256:<hex>`.
   * See the README for what is hashed for files, symlinks and directories.
   */
  hash(path: string, options?: { signal?: AbortSignal }): Promise<string>;
  /** Reads a file ignoring `.dockerignore` (for the Dockerfile itself); `undefined` when absent. */
  readRaw(path: string): Promise<Buffer | undefined>;
  /** Releases what the source made (temp dirs, clones). Idempotent. */
  close(): Promise<void>;
}

/**
 * Opens a context for a spec of its scheme. `spec` is the full string as given
 * (e.g. `s3://bucket/key`).
 */
export type ContextFactory = (spec: string, options: OpenContextOptions) => Promise<ContextSource>;
