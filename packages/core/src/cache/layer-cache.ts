import type { Readable } from "node:stream";
import type { Descriptor, Digest } from "@molt/oci";
import type { LayerOrigin } from "../stage/image-state.js";
import type { KeyInput } from "./key.js";

/**
 * What one cached step produced, and what it was made from. Stored as one small record per key;
 * build-arg values and secrets appear in `inputs` only as keyed hashes.
 */
export interface CacheEntry {
  /** The step's chained key (`sha256:<hex>`). */
  key: Digest;
  /** The step's slot on its chain (see `slotOf` in the cache key module): finds the nearest entry to explain a miss. */
  slot: Digest;
  /** The instruction as written (for `molt cache ls` and messages). */
  step: string;
  /** The layer the step added, or none (a RUN that changed nothing, a WORKDIR that existed). */
  layer?: { descriptor: Descriptor; diffId: Digest };
  /** The history entry's `created_by`. */
  createdBy: string;
  /** Every key input, by name and digest (readable only where safe). */
  inputs: KeyInput[];
  /** When the entry was written (ISO 8601); entries older than the TTL are misses. */
  created: string;
}

/** A cache entry found for a key, with where its layer's bytes live. */
export interface CacheHit {
  entry: CacheEntry;
  /** Where the layer's blob is read (or mounted) from, when the entry has a layer. */
  origin?: LayerOrigin;
  /**
   * Checks the layer's stored bytes against its digest without the build reading them
   * otherwise (a store that can do so cheaply, e.g. a directory remembering the blob files it
   * has verified): false when they fail. Absent where a check would cost a download.
   */
  verify?: (signal?: AbortSignal) => Promise<boolean>;
  /**
   * Checks that the layer's blob is still in the store, reading none of it (a registry's HEAD),
   * for a store whose `get` did not: false when it is gone. A build runs it once per layer
   * before anything references the layer (or lets the push's own existence check stand in for
   * it), and a layer found gone is a miss with a warning. Not run when `verify` is given.
   */
  present?: (signal?: AbortSignal) => Promise<boolean>;
}

/** Per-call options of a {@link LayerCache}. */
export interface CacheCallOptions {
  signal?: AbortSignal;
  /** Receives one line per cache entry that is present but unusable (missing or wrong blob). */
  onWarning?: (message: string) => void;
  /**
   * For `put`: the store's copy of this layer failed verification in this build; write the
   * bytes again even where a blob of that digest is present (a store that cannot, e.g. a
   * registry that keeps the blob it has, writes the entry as usual).
   */
  replaceLayer?: boolean;
}

/** Options of {@link LayerCache.salt}. */
export interface SaltOptions extends CacheCallOptions {
  /**
   * Store these bytes when the store has no salt yet (first write wins: a store that finds
   * another salt there after writing returns that one), or, with `replace`, in place of its own.
   * Without `propose` the call only reads.
   */
  propose?: Uint8Array;
  /** Overwrite the store's salt with `propose` (a directory adopting its registry's salt). */
  replace?: boolean;
}

/** One entry as `molt cache ls` shows it. */
export interface CacheListing {
  key: Digest;
  step: string;
  /** Bytes of its layer (0 without one). */
  size: number;
  created: string;
}

/**
 * A store of step results keyed by chained cache keys. molt ships a registry store
 * ({@link RegistryLayerCache}) and a directory store ({@link DirectoryLayerCache}); anything
 * with these methods (an S3 bucket, a database) can be passed as `cache` to `build()`.
 *
 * Contract: `get` never downloads a layer (one small read per key) and returns `undefined` for
 * a missing, expired, or unusable entry (a missing blob is a miss, reported through
 * `onWarning`); `put` stores the layer blob before the record that points at it, so a killed or
 * concurrent writer never leaves a record without its blob.
 */
export interface LayerCache {
  /** Human description, e.g. `registry 127.0.0.1:5000/app/cache`. */
  readonly description: string;
  /** The entry for `key`, or `undefined`. */
  get(key: Digest, options?: CacheCallOptions): Promise<CacheHit | undefined>;
  /** The entry last written for `slot` (to explain a miss), or `undefined`. */
  nearest(slot: Digest, options?: CacheCallOptions): Promise<CacheEntry | undefined>;
  /** Stores an entry; `layer` opens the bytes of `entry.layer` (verified by digest on the way). */
  put(
    entry: CacheEntry,
    layer: (() => Promise<Readable>) | undefined,
    options?: CacheCallOptions,
  ): Promise<void>;
  /** Lists entries (for `molt cache ls`). */
  list?(options?: CacheCallOptions): AsyncIterable<CacheListing>;
  /**
   * The store's key salt (see `KeySalt`): the random bytes its keys' hidden inputs are keyed
   * with, kept by the store so every build using it computes the same keys. Returns
   * `undefined` when the store has none (and was not asked to, or cannot, store one). Optional:
   * a store without it is keyed with a constant salt.
   */
  salt?(options: SaltOptions): Promise<Uint8Array | undefined>;
  /** Removes an entry (for `molt cache prune`); returns false where the store cannot delete. */
  delete?(key: Digest, options?: CacheCallOptions): Promise<boolean>;
}

/** Parses and checks a stored entry record; `undefined` when it is not one. */
export function parseEntry(text: string): CacheEntry | undefined {
  try {
    const e = JSON.parse(text) as Partial<CacheEntry>;
    if (typeof e.key !== "string" || typeof e.slot !== "string" || !Array.isArray(e.inputs)) return undefined;
    if (typeof e.createdBy !== "string" || typeof e.created !== "string") return undefined;
    return e as CacheEntry;
  } catch {
    return undefined;
  }
}

/** True when the entry was written more than `ttlMs` ago. */
export function isExpired(entry: CacheEntry, ttlMs: number | undefined, now = Date.now()): boolean {
  if (ttlMs === undefined) return false;
  const t = Date.parse(entry.created);
  return Number.isNaN(t) || now - t > ttlMs;
}
