import { createHash, type Hash } from "node:crypto";
import { InvalidDigestError } from "./errors.js";

/** A content digest such as `sha256:…` (lower-case hex). */
export type Digest = `${string}:${string}`;

const ALGORITHMS: Record<string, number> = { sha256: 64, sha512: 128 };
const DIGEST_RE = /^([a-z0-9]+(?:[.+_-][a-z0-9]+)*):([a-f0-9]+)$/;

/** Returns true when `value` is a well-formed digest of a supported algorithm. */
export function isDigest(value: string): value is Digest {
  const m = DIGEST_RE.exec(value);
  if (!m) return false;
  const len = ALGORITHMS[m[1]!];
  return len !== undefined && m[2]!.length === len;
}

/**
 * Validates and returns `value` as a {@link Digest}.
 * @throws {@link InvalidDigestError} when it is malformed.
 */
export function parseDigest(value: string): Digest {
  if (!isDigest(value)) throw new InvalidDigestError(value);
  return value;
}

/** Splits a digest into algorithm and hex. */
export function splitDigest(digest: Digest): { algorithm: string; hex: string } {
  const i = digest.indexOf(":");
  return { algorithm: digest.slice(0, i), hex: digest.slice(i + 1) };
}

/** The sha256 digest of a buffer or string (UTF-8). */
export function sha256(data: Uint8Array | string): Digest {
  return `sha256:${createHash("sha256").update(data).digest("hex")}`;
}

/** An incremental hasher that reports its result as a {@link Digest}. */
export class Digester {
  readonly #hash: Hash;
  #size = 0;
  constructor(readonly algorithm: "sha256" | "sha512" = "sha256") {
    this.#hash = createHash(algorithm);
  }
  /** Feeds bytes. */
  update(chunk: Uint8Array): void {
    this.#hash.update(chunk);
    this.#size += chunk.length;
  }
  /** Bytes fed so far. */
  get size(): number {
    return this.#size;
  }
  /** Finishes and returns the digest; the digester cannot be used afterwards. */
  digest(): Digest {
    return `${this.algorithm}:${this.#hash.digest("hex")}`;
  }
}
