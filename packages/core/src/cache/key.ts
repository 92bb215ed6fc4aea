import { createHash, createHmac, randomBytes } from "node:crypto";
import type { Digest } from "@molt/oci";

/**
 * One input of a step's cache key: a stable `name` (so two entries' inputs can be compared by
 * name, e.g. to say which one changed) and the `digest` of its value. `display` is a readable
 * form for inputs that are safe to show (paths, USER, the instruction as written); it is never
 * set for build-arg values, secrets or environment values, which appear only as keyed hashes.
 *
 * The list is open: a part that brings a new kind of input (e.g. `RUN --mount` bind sources)
 * appends entries with its own name prefix (`mount:bind:/src`).
 */
export interface KeyInput {
  /** Stable name, unique within a step: `parent`, `instruction`, `arg:VERSION`, `src:app/`, … */
  name: string;
  /** `sha256:<hex>` of the value (a keyed hash for values that must not be readable). */
  digest: string;
  /** A readable form, only for values that may be shown in a cache entry and in messages. */
  display?: string;
}

const VERSION = "molt-cache-key-v2";

/** `sha256:<hex>` of a string or bytes. */
export function digestOf(value: string | Uint8Array): Digest {
  return `sha256:${createHash("sha256").update(value).digest("hex")}` as Digest;
}

/** Bytes of a store's key salt. */
export const SALT_BYTES = 32;

/**
 * The secret part of the keys of one build: random bytes shared by the stores the build uses
 * (stored once in each store, the registry's adopted by a local directory), so the same
 * build-arg value, secret or expanded instruction gives different digests in different stores
 * and nobody can test a guessed value against another store's keys. It never appears in logs,
 * errors or events: `String()`, `JSON.stringify` and `util.inspect` show only `KeySalt(…)`.
 */
export class KeySalt {
  readonly #bytes: Buffer;

  private constructor(bytes: Uint8Array) {
    this.#bytes = Buffer.from(bytes);
  }

  /** Fresh random bytes (a store that has none yet, or a build without a cache). */
  static random(): KeySalt {
    return new KeySalt(randomBytes(SALT_BYTES));
  }

  /** A salt read from a store. */
  static of(bytes: Uint8Array): KeySalt {
    if (bytes.length < 16) throw new RangeError("a key salt needs at least 16 bytes");
    return new KeySalt(bytes);
  }

  /**
   * The salt of stores that keep none (a `LayerCache` of your own without `salt`): a constant,
   * so its keys stay equal across builds; such a store's hidden inputs are then only as safe as
   * a plain hash.
   */
  static readonly constant: KeySalt = new KeySalt(Buffer.from(`${VERSION}:no-salt`));

  /** The bytes, for a store to keep. */
  bytes(): Buffer {
    return Buffer.from(this.#bytes);
  }

  /** True when both hold the same bytes. */
  equals(other: KeySalt): boolean {
    return this.#bytes.equals(other.#bytes);
  }

  /** HMAC-SHA256 of `value` keyed by the salt and `name` (`sha256:<hex>`). */
  digest(name: string, value: string): Digest {
    const h = createHmac("sha256", Buffer.concat([this.#bytes, Buffer.from(`\0${VERSION}:${name}`)]));
    return `sha256:${h.update(value).digest("hex")}` as Digest;
  }

  /** Never the bytes: `KeySalt(…)`. */
  toString(): string {
    return "KeySalt(…)";
  }

  /** Never the bytes: `KeySalt(…)` (so `JSON.stringify` of an object holding a salt shows none). */
  toJSON(): string {
    return "KeySalt(…)";
  }

  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return "KeySalt(…)";
  }
}

/**
 * The digest of a value that must never be readable from a cache entry (a build-arg value, a
 * secret id's value, the expanded instruction): HMAC-SHA256 keyed by the store's salt and the
 * input's name, so the same value gives the same digest across builds using that store (a
 * changed value can be reported by name) without storing it, and a different one in another store.
 */
export function hiddenDigest(name: string, value: string, salt: KeySalt = KeySalt.constant): Digest {
  return salt.digest(name, value);
}

/** A readable input: its digest is the hash of its display value. */
export function shownInput(name: string, value: string): KeyInput {
  return { name, digest: digestOf(`${name}\0${value}`), display: value };
}

/** An input recorded by its salted digest only (see `hiddenDigest`). */
export function hiddenInput(name: string, value: string, salt?: KeySalt): KeyInput {
  return { name, digest: hiddenDigest(name, value, salt) };
}

/**
 * The `instruction` input's digest: the expanded instruction text (which may hold build-arg
 * values), salted like every hidden input.
 */
export function instructionDigest(text: string, salt: KeySalt): Digest {
  return salt.digest("instruction", text);
}

/**
 * The chained cache key of a step: H(version, every input's name and digest, in order). The
 * first input is always `parent` (the previous step's key, or the base image's manifest digest).
 */
export function stepKey(inputs: readonly KeyInput[]): Digest {
  const h = createHash("sha256").update(VERSION);
  for (const i of inputs) h.update(`\n${i.name}\0${i.digest}`);
  return `sha256:${h.digest("hex")}` as Digest;
}

/** Where the chain starts for `FROM scratch`: a constant. */
export const SCRATCH_KEY: Digest = digestOf(`${VERSION}:scratch`);

/**
 * A step's slot: where on a Dockerfile's chain it sits, independent of content (the previous
 * slot and the instruction as written). The nearest cache entry for explaining a miss is the one
 * last written for the same slot.
 */
export function slotOf(previousSlot: string, written: string): Digest {
  return digestOf(`${VERSION}:slot\0${previousSlot}\0${written}`);
}

/** The hex part of a digest (for tags and file names). */
export function hexOf(digest: string): string {
  return digest.slice(digest.indexOf(":") + 1);
}
