import { resolve } from "node:path";
import {
  type CacheListing,
  DirectoryLayerCache,
  type LayerCache,
  pruneCache,
  RegistryLayerCache,
} from "@molt/core";
import { parseReference } from "@molt/oci";
import { RegistryClient } from "@molt/registry-client";
import { type CommandIO, UsageError } from "../io.js";
import { parseBytes, parseDuration } from "./flags/cache.js";

const CACHE_USAGE =
  "usage: molt cache ls|prune (--cache-repo REPO | --cache-dir DIR) [--older-than 14d] [--keep-bytes N] [--insecure] [--skip-tls-verify]";

interface CacheArgs {
  action: "ls" | "prune";
  repo?: string;
  dir?: string;
  olderThanMs?: number;
  keepBytes?: number;
  insecure: boolean;
  skipTlsVerify: boolean;
}

function parseCacheArgs(argv: string[], cwd: string): CacheArgs {
  const [action, ...rest] = argv;
  if (action !== "ls" && action !== "prune") throw new UsageError("say ls or prune", CACHE_USAGE);
  const out: CacheArgs = { action, insecure: false, skipTlsVerify: false };
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i]!;
    const eq = a.startsWith("--") ? a.indexOf("=") : -1;
    const flag = eq > 0 ? a.slice(0, eq) : a;
    const value = () => {
      if (eq > 0) return a.slice(eq + 1);
      const v = rest[++i];
      if (v === undefined) throw new UsageError(`${flag} needs a value`, CACHE_USAGE);
      return v;
    };
    switch (flag) {
      case "--cache-repo":
        out.repo = value();
        break;
      case "--cache-dir":
        out.dir = resolve(cwd, value());
        break;
      case "--older-than":
        out.olderThanMs = parseDuration(value(), "older-than");
        break;
      case "--keep-bytes":
        out.keepBytes = parseBytes(value(), "keep-bytes");
        break;
      case "--insecure":
        out.insecure = true;
        break;
      case "--skip-tls-verify":
        out.skipTlsVerify = true;
        break;
      default:
        throw new UsageError(`Unknown option '${flag}'`, CACHE_USAGE);
    }
  }
  if ((out.repo === undefined) === (out.dir === undefined))
    throw new UsageError("give exactly one of --cache-repo or --cache-dir", CACHE_USAGE);
  if (out.action === "ls" && (out.olderThanMs !== undefined || out.keepBytes !== undefined))
    throw new UsageError("--older-than and --keep-bytes are for prune", CACHE_USAGE);
  if (out.action === "prune" && out.olderThanMs === undefined && out.keepBytes === undefined)
    throw new UsageError("prune needs --older-than or --keep-bytes", CACHE_USAGE);
  return out;
}

function age(created: string, now: number): string {
  const s = Math.max(0, Math.round((now - Date.parse(created)) / 1000));
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.round(s / 60)}m`;
  if (s < 172800) return `${Math.round(s / 3600)}h`;
  return `${Math.round(s / 86400)}d`;
}

/**
 * `molt cache ls|prune`: lists a layer cache's entries (key, layer size, age, step) or prunes it
 * by age and/or total size, oldest first. A registry that refuses deletes keeps its entries and
 * they are listed as what would go.
 */
export async function cacheCommand(argv: string[], io: CommandIO, signal?: AbortSignal): Promise<number> {
  const args = parseCacheArgs(argv, io.cwd);
  let client: RegistryClient | undefined;
  let cache: LayerCache;
  if (args.dir) cache = await DirectoryLayerCache.open(args.dir);
  else {
    const ref = parseReference(args.repo!);
    client = new RegistryClient({
      insecure: args.insecure ? [ref.registry] : [],
      skipTlsVerify: args.skipTlsVerify ? [ref.registry] : [],
    });
    cache = new RegistryLayerCache(client, ref);
  }
  const now = Date.now();
  const line = (e: { key: string; size: number; created: string; step: string }) =>
    `${e.key.slice(7, 19)}  ${String(e.size).padStart(12)}  ${age(e.created, now).padStart(5)}  ${e.step}\n`;
  try {
    if (args.action === "ls") {
      let n = 0;
      let bytes = 0;
      io.stdout.write(`${"KEY".padEnd(12)}  ${"SIZE".padStart(12)}  ${"AGE".padStart(5)}  STEP\n`);
      for await (const e of cache.list!(signal ? { signal } : {})) {
        io.stdout.write(line(e));
        n++;
        bytes += e.size;
      }
      io.stderr.write(`${n} entries, ${bytes} bytes of layers in ${cache.description}\n`);
      return 0;
    }
    const limits = {
      ...(args.olderThanMs !== undefined ? { olderThanMs: args.olderThanMs } : {}),
      ...(args.keepBytes !== undefined ? { keepBytes: args.keepBytes } : {}),
    };
    // A directory prunes itself (records, then the blobs nothing references any more).
    let removed: CacheListing[];
    let refused: CacheListing[] = [];
    let kept: number;
    if (cache instanceof DirectoryLayerCache) {
      const r = await cache.prune(limits);
      removed = r.removed;
      kept = r.kept;
    } else {
      const r = await pruneCache(cache, { ...limits, ...(signal ? { signal } : {}) });
      removed = r.removed;
      refused = r.refused;
      kept = r.kept.length;
    }
    for (const e of removed) io.stdout.write(`removed ${line(e)}`);
    for (const e of refused) io.stdout.write(`would remove (the registry refuses deletes) ${line(e)}`);
    io.stderr.write(
      `${removed.length} removed, ${refused.length} refused, ${kept} kept in ${cache.description}\n`,
    );
    return 0;
  } finally {
    await client?.close();
  }
}
