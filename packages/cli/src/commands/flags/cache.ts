import { resolve } from "node:path";
import { type CacheOptions, type CacheStore, defaultCacheRepo } from "@molt/core";
import type { FlagRow, FlagTarget } from "./types.js";
import { bool, list, str, usage } from "./values.js";

const group = "cache" as const;

/** `BuildOptions.cache`, made when a cache flag first needs it (its stores are added at the end). */
function cache(t: FlagTarget): CacheOptions {
  t.options.cache ??= { stores: [] };
  return t.options.cache;
}

/** Parses a Go-style duration (`336h`, `6h30m`, `90s`) or days (`14d`) into milliseconds. */
export function parseDuration(text: string, flag: string): number {
  const unit: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
  let total = 0;
  let rest = text.trim();
  if (rest === "") throw usage(`--${flag} expects a duration such as 336h or 14d`);
  while (rest.length > 0) {
    const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)/.exec(rest);
    if (!m) throw usage(`--${flag} expects a duration such as 336h or 14d, got "${text}"`);
    total += Number(m[1]) * unit[m[2]!]!;
    rest = rest.slice(m[0].length);
  }
  return total;
}

/** Parses a byte size with an optional K/M/G/T suffix (powers of 1024, `i`/`B` optional). */
export function parseBytes(text: string, flag: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([kmgt]?)(i?b?)$/i.exec(text.trim());
  if (!m) throw usage(`--${flag} expects a size such as 20GiB or 500M, got "${text}"`);
  const pow = { "": 0, k: 1, m: 2, g: 3, t: 4 }[m[2]!.toLowerCase() as "" | "k" | "m" | "g" | "t"];
  return Math.floor(Number(m[1]) * 1024 ** pow);
}

/**
 * kaniko's cache flags and BuildKit's cache controls. `--cache=true` uses a registry cache in
 * `--cache-repo` (default `<first destination repo>/cache`, as kaniko); `--cache-dir` adds (or
 * alone is) a local directory cache; `--cache-repo oci:DIR` is a directory cache too.
 */
export const CACHE_FLAGS: FlagRow[] = [
  {
    name: "cache",
    type: "boolean",
    group,
    help: "use a registry layer cache (--cache-repo, default <destination repo>/cache)",
    apply: (v, t) => {
      t.cli.cache = bool(v);
    },
  },
  {
    name: "cache-repo",
    type: "string",
    group,
    arg: "REPO",
    help: "registry repository of cache entries (or oci:DIR for a directory)",
    apply: (v, t) => {
      t.cli.cacheRepo = str(v);
    },
  },
  {
    name: "cache-dir",
    type: "string",
    group,
    arg: "DIR",
    help: "local cache directory (an OCI layout; also serves pre-warmed base images)",
    apply: (v, t) => {
      t.cli.cacheDir = resolve(t.cwd, str(v));
    },
  },
  {
    name: "cache-ttl",
    type: "string",
    group,
    arg: "DURATION",
    help: "entries older than this are misses (default 336h; 14d accepted)",
    apply: (v, t) => {
      cache(t).ttlMs = parseDuration(str(v), "cache-ttl");
    },
  },
  {
    name: "cache-copy-layers",
    type: "boolean",
    group,
    help: "cache COPY/ADD results by content (default true, as BuildKit)",
    apply: (v, t) => {
      const c = cache(t);
      c.layers = { ...c.layers, copy: bool(v) };
    },
  },
  {
    name: "cache-run-layers",
    type: "boolean",
    group,
    help: "cache RUN results (default true)",
    apply: (v, t) => {
      const c = cache(t);
      c.layers = { ...c.layers, run: bool(v) };
    },
  },
  {
    name: "no-push-cache",
    type: "boolean",
    group,
    help: "read the cache, write no entries",
    apply: (v, t) => {
      if (bool(v)) cache(t).push = false;
    },
  },
  {
    name: "compressed-caching",
    type: "boolean",
    group,
    noop: true,
    help: "accepted (cache entries are the compressed layers themselves)",
  },
  {
    name: "no-cache",
    type: "boolean",
    group,
    help: "rebuild every step (entries are still written)",
    apply: (v, t) => {
      if (bool(v)) cache(t).rebuild = true;
    },
  },
  {
    name: "no-cache-filter",
    type: "string",
    multiple: true,
    group,
    arg: "STAGE[,STAGE]",
    help: "rebuild only these stages' steps (entries are still written)",
    apply: (v, t) => {
      const stages = list(v)
        .flatMap((s) => s.split(","))
        .map((s) => s.trim())
        .filter(Boolean);
      const c = cache(t);
      if (c.rebuild !== true) c.rebuild = stages;
    },
  },
  {
    name: "cache-normalize-modes",
    type: "boolean",
    group,
    help: "hash sources with the modes COPY gives them (umask-independent keys)",
    apply: (v, t) => {
      if (bool(v)) cache(t).normalizeModes = true;
    },
  },
  {
    name: "cache-max-bytes",
    type: "string",
    group,
    arg: "N",
    help: "keep --cache-dir under N bytes, oldest entries first (default 20GiB)",
    apply: (v, t) => {
      t.cli.cacheMaxBytes = parseBytes(str(v), "cache-max-bytes");
    },
  },
  {
    name: "cache-snapshots",
    type: "boolean",
    group,
    help: "keep extracted stage roots in --cache-dir so a rebuild writes only changed files (default true)",
    apply: (v, t) => {
      t.cli.cacheSnapshots = bool(v);
    },
  },
  {
    name: "cache-snapshot-max-bytes",
    type: "string",
    group,
    arg: "N",
    help: "keep --cache-dir's snapshots under N bytes, least recently used first (default 10GiB)",
    apply: (v, t) => {
      t.cli.cacheSnapshotMaxBytes = parseBytes(str(v), "cache-snapshot-max-bytes");
    },
  },
  {
    name: "explain-cache",
    type: "boolean",
    group,
    help: "print every step's cache decision, hits included",
    apply: (v, t) => {
      t.cli.explainCache = bool(v);
    },
  },
  {
    name: "dryrun",
    type: "boolean",
    group,
    help: "print stages, steps, cache keys and whether each would hit; build nothing",
    apply: (v, t) => {
      t.cli.dryRun = bool(v);
    },
  },
];

function addStore(t: FlagTarget, store: CacheStore): void {
  const c = cache(t);
  c.stores = [...c.stores, store];
}

/**
 * After every row applied: the cache stores, `--cache-dir` first and then the registry
 * repository (kaniko's default needs the destinations); `--cache-repo oci:DIR` is a directory.
 */
export function finishCacheFlags(t: FlagTarget): void {
  const repo = t.cli.cacheRepo;
  const dir = t.cli.cacheDir ?? (repo?.startsWith("oci:") ? resolve(t.cwd, repo.slice(4)) : undefined);
  if (dir)
    addStore(t, {
      type: "directory",
      path: dir,
      ...(t.cli.cacheMaxBytes === undefined ? {} : { maxBytes: t.cli.cacheMaxBytes }),
      ...(t.cli.cacheSnapshots === undefined ? {} : { snapshots: t.cli.cacheSnapshots }),
      ...(t.cli.cacheSnapshotMaxBytes === undefined ? {} : { snapshotMaxBytes: t.cli.cacheSnapshotMaxBytes }),
    });
  if (repo?.startsWith("oci:") || !t.cli.cache) return;
  const chosen =
    repo ?? (t.options.destinations?.[0] ? defaultCacheRepo(t.options.destinations[0]) : undefined);
  if (!chosen) {
    t.warn(
      "--cache has no repository to use (give --cache-repo or a --destination); no registry cache is used",
    );
    return;
  }
  addStore(t, { type: "registry", repo: chosen });
}
