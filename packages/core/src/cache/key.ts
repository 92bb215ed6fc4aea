import { createHash, createHmac } from "node:crypto";
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

const VERSION = "molt-cache-key-v1";

/** `sha256:<hex>` of a string or bytes. */
export function digestOf(value: string | Uint8Array): Digest {
  return `sha256:${createHash("sha256").update(value).digest("hex")}` as Digest;
}

/**
 * The digest of a value that must never be readable from a cache entry (a build-arg value, a
 * secret id's value): HMAC-SHA256 keyed by the input's name, so the same value gives the same
 * digest across builds (a changed value can be reported by name) without storing it.
 */
export function hiddenDigest(name: string, value: string): Digest {
  return `sha256:${createHmac("sha256", `${VERSION}:${name}`).update(value).digest("hex")}` as Digest;
}

/** A readable input: its digest is the hash of its display value. */
export function shownInput(name: string, value: string): KeyInput {
  return { name, digest: digestOf(`${name}\0${value}`), display: value };
}

/** An input recorded by digest only. */
export function hiddenInput(name: string, value: string): KeyInput {
  return { name, digest: hiddenDigest(name, value) };
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
