import { randomBytes } from "node:crypto";
import { link, mkdir, readdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { type Digest, OciLayout } from "@molt/oci";
import createDebug from "debug";
import { lockFile } from "../mounts/lock.js";
import { BlobStamps } from "./blob-stamp.js";
import { hexOf } from "./key.js";
import {
  type CacheCallOptions,
  type CacheEntry,
  type CacheHit,
  type CacheListing,
  isExpired,
  type LayerCache,
  parseEntry,
  type SaltOptions,
} from "./layer-cache.js";

const debug = createDebug("molt:cache");

/** Options of {@link DirectoryLayerCache}. */
export interface DirectoryLayerCacheOptions {
  /** Entries older than this many milliseconds are misses (`--cache-ttl`); default none. */
  ttlMs?: number;
  /** Probe only, never write. */
  readOnly?: boolean;
  /**
   * The layers the entries reference never add up to more than this (`--cache-max-bytes`): before
   * a new layer is stored, the oldest entries are pruned to make room for it, and a layer bigger
   * than the limit is not stored at all. Default: no limit.
   */
  maxBytes?: number;
}

/** What {@link DirectoryLayerCache.prune} removed and kept. */
export interface PruneReport {
  removed: CacheListing[];
  kept: number;
  /** Bytes of layer blobs the kept entries reference. */
  keptBytes: number;
}

/**
 * A layer cache in a local directory (`--cache-dir`): an OCI image layout (`oci-layout`,
 * `blobs/sha256/…`, `index.json`) whose blobs hold the cached layers, plus one small record per
 * key under `molt-cache/keys/` (and the latest record per chain slot under `molt-cache/slots/`).
 * Blobs are written (verified, temp file + rename) before the record that names them, so
 * concurrent builds and killed builds never leave a record pointing at a partial blob. Images
 * copied into the same layout (`skopeo copy docker://… oci:DIR:REF`) serve as pre-warmed base
 * images, kaniko's meaning of `--cache-dir`.
 *
 * @example
 * ```ts
 * const cache = await DirectoryLayerCache.open("/var/cache/molt");
 * await build({ context: ".", noPush: true, ociLayoutPath: "out", cache: { stores: [cache] } });
 * ```
 */
export class DirectoryLayerCache implements LayerCache {
  readonly description: string;
  readonly #stamps: BlobStamps;

  private constructor(
    readonly dir: string,
    readonly layout: OciLayout,
    private readonly options: DirectoryLayerCacheOptions,
  ) {
    this.description = `directory ${dir}`;
    this.#stamps = new BlobStamps(dir, (d) => layout.blobPath(d));
  }

  /** The size limit the cache was opened with (its `maxBytes`), if any. */
  get maxBytes(): number | undefined {
    return this.options.maxBytes;
  }

  /** Opens (creating if needed) the cache directory. */
  static async open(dir: string, options: DirectoryLayerCacheOptions = {}): Promise<DirectoryLayerCache> {
    const layout = await OciLayout.open(dir);
    await mkdir(join(dir, "molt-cache", "keys"), { recursive: true });
    await mkdir(join(dir, "molt-cache", "slots"), { recursive: true });
    return new DirectoryLayerCache(dir, layout, options);
  }

  #keyPath(key: string): string {
    return join(this.dir, "molt-cache", "keys", `${hexOf(key)}.json`);
  }

  #slotPath(slot: string): string {
    return join(this.dir, "molt-cache", "slots", `${hexOf(slot)}.json`);
  }

  async #read(path: string): Promise<CacheEntry | undefined> {
    let text: string;
    try {
      text = await readFile(path, "utf8");
    } catch {
      return undefined;
    }
    return parseEntry(text);
  }

  async get(key: Digest, options: CacheCallOptions = {}): Promise<CacheHit | undefined> {
    const entry = await this.#read(this.#keyPath(key));
    if (!entry || entry.key !== key || isExpired(entry, this.options.ttlMs)) return undefined;
    if (!entry.layer) return { entry };
    const d = entry.layer.descriptor;
    let size = -1;
    try {
      size = (await stat(this.layout.blobPath(d.digest))).size;
    } catch {}
    if (size !== d.size) {
      options.onWarning?.(
        `cache entry ${hexOf(key).slice(0, 12)} in ${this.description}: its layer ${d.digest} is ${size < 0 ? "missing" : "the wrong size"}; rebuilding the step`,
      );
      return undefined;
    }
    const layout = this.layout;
    const stamps = this.#stamps;
    return {
      entry,
      verify: (signal) => stamps.verify(d.digest, d.size, signal),
      origin: {
        kind: "source",
        description: this.description,
        source: { open: async (digest) => layout.open(digest) },
      },
    };
  }

  nearest(slot: Digest): Promise<CacheEntry | undefined> {
    return this.#read(this.#slotPath(slot));
  }

  /**
   * The directory's key salt, in `molt-cache/salt` (hex). The first write is race-free: the
   * bytes go to a temp file that is hard-linked to the name (which fails when another build got
   * there first, whose salt is then read and returned). `replace` renames over it.
   */
  async salt(options: SaltOptions = {}): Promise<Uint8Array | undefined> {
    const path = join(this.dir, "molt-cache", "salt");
    const read = async () => {
      const text = await readFile(path, "utf8").catch(() => undefined);
      return text && /^[0-9a-f]{32,128}$/.test(text.trim()) ? Buffer.from(text.trim(), "hex") : undefined;
    };
    const { propose } = options;
    if (!propose || this.options.readOnly) return read();
    const hex = Buffer.from(propose).toString("hex");
    if (options.replace) {
      await atomicWrite(path, hex, 0o600);
      return read();
    }
    const found = await read();
    if (found) return found;
    const tmp = `${path}.${randomBytes(6).toString("hex")}.tmp`;
    try {
      await writeFile(tmp, hex, { mode: 0o600 });
      await link(tmp, path).catch((e: NodeJS.ErrnoException) => {
        if (e.code !== "EEXIST") throw e;
      });
    } finally {
      await rm(tmp, { force: true });
    }
    return read();
  }

  /** Puts run one at a time when a size limit is set, so two of them cannot both take the room. */
  #putChain: Promise<void> = Promise.resolve();

  async put(
    entry: CacheEntry,
    layer: (() => Promise<Readable>) | undefined,
    options: CacheCallOptions = {},
  ): Promise<void> {
    if (this.options.readOnly) return;
    if (this.options.maxBytes === undefined) return this.#put(entry, layer, options);
    const run = this.#putChain.then(() => this.#putWithin(this.options.maxBytes!, entry, layer, options));
    this.#putChain = run.catch(() => undefined);
    return run;
  }

  async #putWithin(
    maxBytes: number,
    entry: CacheEntry,
    layer: (() => Promise<Readable>) | undefined,
    options: CacheCallOptions,
  ): Promise<void> {
    const size = entry.layer && layer ? entry.layer.descriptor.size : 0;
    if (size > maxBytes) {
      debug(
        "not storing %s in %s: its layer (%d bytes) is over the limit %d",
        entry.key,
        this.description,
        size,
        maxBytes,
      );
      return;
    }
    if (size === 0 || (!options.replaceLayer && (await this.layout.hasBlob(entry.layer!.descriptor.digest))))
      return this.#put(entry, layer, options);
    // Making room and filling it is one step for every build on this machine sharing the
    // directory: an exclusive flock (released when this process dies, even by SIGKILL).
    const lock = await lockFile(join(this.dir, "molt-cache", "size.lock"), "exclusive", options);
    try {
      await this.prune({ keepBytes: maxBytes - size });
      await this.#put(entry, layer, options);
    } finally {
      await lock?.release();
    }
  }

  async #put(
    entry: CacheEntry,
    layer: (() => Promise<Readable>) | undefined,
    options: CacheCallOptions,
  ): Promise<void> {
    if (entry.layer && layer) {
      const d = entry.layer.descriptor;
      if (options.replaceLayer || !(await this.layout.hasBlob(d.digest))) {
        await this.layout.writeBlob(d.digest, await layer(), {
          ...(options.signal ? { signal: options.signal } : {}),
          ...(options.replaceLayer ? { replace: true } : {}),
        });
        // Written and checked against its digest just now: a later build need not hash it.
        await this.#stamps.remember(d.digest);
      }
    }
    const text = JSON.stringify(entry);
    await atomicWrite(this.#keyPath(entry.key), text);
    await atomicWrite(this.#slotPath(entry.slot), text);
    debug("stored %s in %s", entry.key, this.description);
  }

  async *list(): AsyncIterable<CacheListing> {
    for (const { entry } of await this.#entries()) {
      yield {
        key: entry.key,
        step: entry.step,
        size: entry.layer?.descriptor.size ?? 0,
        created: entry.created,
      };
    }
  }

  async delete(key: Digest): Promise<boolean> {
    await rm(this.#keyPath(key), { force: true });
    return true;
  }

  async #entries(): Promise<{ entry: CacheEntry; file: string }[]> {
    const dir = join(this.dir, "molt-cache", "keys");
    const out: { entry: CacheEntry; file: string }[] = [];
    for (const name of await readdir(dir).catch(() => [] as string[])) {
      if (!name.endsWith(".json")) continue;
      const entry = await this.#read(join(dir, name));
      if (entry) out.push({ entry, file: join(dir, name) });
    }
    return out;
  }

  /**
   * Removes entries older than `olderThanMs`, then the oldest entries until the layers the rest
   * reference add up to at most `keepBytes`; then deletes layer blobs no record (and no image in
   * `index.json`) references any more. Safe to run while builds use the directory: a build that
   * loses a blob this way sees a miss, never a broken image.
   */
  async prune(
    options: { olderThanMs?: number; keepBytes?: number; now?: number } = {},
  ): Promise<PruneReport> {
    const now = options.now ?? Date.now();
    const all = (await this.#entries()).sort(
      (a, b) => Date.parse(a.entry.created) - Date.parse(b.entry.created),
    );
    const removed: CacheListing[] = [];
    const remove = async (x: { entry: CacheEntry; file: string }) => {
      await rm(x.file, { force: true });
      removed.push({
        key: x.entry.key,
        step: x.entry.step,
        size: x.entry.layer?.descriptor.size ?? 0,
        created: x.entry.created,
      });
    };
    let kept = all;
    if (options.olderThanMs !== undefined) {
      const keep: typeof all = [];
      for (const x of kept) {
        if (now - Date.parse(x.entry.created) > options.olderThanMs) await remove(x);
        else keep.push(x);
      }
      kept = keep;
    }
    const bytesOf = (xs: typeof all) => {
      const seen = new Map<string, number>();
      for (const x of xs)
        if (x.entry.layer) seen.set(x.entry.layer.descriptor.digest, x.entry.layer.descriptor.size);
      let n = 0;
      for (const v of seen.values()) n += v;
      return n;
    };
    if (options.keepBytes !== undefined) {
      while (kept.length > 0 && bytesOf(kept) > options.keepBytes) await remove(kept.shift()!);
    }
    if (removed.length > 0) await this.#collectBlobs(kept.map((x) => x.entry));
    return { removed, kept: kept.length, keptBytes: bytesOf(kept) };
  }

  /** Deletes blobs of removed entries that nothing else references (records or index.json). */
  async #collectBlobs(kept: CacheEntry[]): Promise<void> {
    const referenced = new Set<string>(kept.flatMap((e) => (e.layer ? [e.layer.descriptor.digest] : [])));
    const index = await this.layout.readIndex().catch(() => undefined);
    if (index) {
      for (const m of index.manifests) {
        referenced.add(m.digest);
        await this.#addReachable(m.digest, referenced);
      }
    }
    const dir = join(this.dir, "blobs", "sha256");
    for (const hex of await readdir(dir).catch(() => [] as string[])) {
      if (!/^[0-9a-f]{64}$/.test(hex) || referenced.has(`sha256:${hex}`)) continue;
      await rm(join(dir, hex), { force: true });
    }
    // Slot records whose key is gone only explain misses; drop them with their entries.
    const slots = join(this.dir, "molt-cache", "slots");
    const keys = new Set(kept.map((e) => e.key));
    for (const name of await readdir(slots).catch(() => [] as string[])) {
      const e = await this.#read(join(slots, name));
      if (!e || !keys.has(e.key)) await rm(join(slots, name), { force: true });
    }
  }

  async #addReachable(digest: string, into: Set<string>): Promise<void> {
    let doc: { manifests?: { digest: string }[]; layers?: { digest: string }[]; config?: { digest: string } };
    try {
      doc = JSON.parse(await readFile(this.layout.blobPath(digest as Digest), "utf8"));
    } catch {
      return;
    }
    for (const d of [...(doc.manifests ?? []), ...(doc.layers ?? []), ...(doc.config ? [doc.config] : [])]) {
      into.add(d.digest);
      if (doc.manifests) await this.#addReachable(d.digest, into);
    }
  }
}

async function atomicWrite(path: string, text: string, mode?: number): Promise<void> {
  const tmp = `${path}.${randomBytes(6).toString("hex")}.tmp`;
  try {
    await writeFile(tmp, text, mode !== undefined ? { mode } : {});
    await rename(tmp, path);
  } finally {
    await rm(tmp, { force: true });
  }
}
