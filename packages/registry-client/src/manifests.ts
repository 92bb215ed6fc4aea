import { createHash } from "node:crypto";
import {
  type Descriptor,
  type Digest,
  DigestMismatchError,
  formatPlatform,
  formatReference,
  type ImageIndex,
  isDigest,
  MediaType,
  type Platform,
  platformMatches,
  type Reference,
  sha256,
  splitDigest,
} from "@molt/oci";
import { PlatformNotFoundError, RegistryProtocolError } from "./errors.js";

/** Every manifest media type the client accepts unless told otherwise. */
export const DEFAULT_MANIFEST_ACCEPT: readonly string[] = [
  MediaType.OciIndex,
  MediaType.DockerManifestList,
  MediaType.OciManifest,
  MediaType.DockerManifest,
];

/** The registry path of a manifest: by digest when the reference has one, else by tag. */
export function manifestPath(ref: Reference): string {
  const id = ref.digest ?? ref.tag ?? "latest";
  return `/v2/${ref.repository}/manifests/${id}`;
}

/** Hashes bytes with the algorithm of `like` (sha256 or sha512). */
export function digestWith(bytes: Uint8Array, like: Digest): Digest {
  const { algorithm } = splitDigest(like);
  if (algorithm === "sha256") return sha256(bytes);
  return `${algorithm}:${createHash(algorithm).update(bytes).digest("hex")}` as Digest;
}

/**
 * Checks fetched manifest bytes: they must hash to the reference's digest when fetched by
 * digest, and to `Docker-Content-Digest` when the registry sent one. Returns the digest.
 * @throws {@link DigestMismatchError} when they do not.
 */
export function verifyManifestDigest(
  ref: Reference,
  bytes: Buffer,
  headerDigest: string | undefined,
): Digest {
  const expected = ref.digest;
  if (expected) {
    const actual = digestWith(bytes, expected);
    if (actual !== expected)
      throw new DigestMismatchError(expected, actual, `manifest of ${formatReference(ref)}`);
    return expected;
  }
  const own = sha256(bytes);
  if (headerDigest && isDigest(headerDigest)) {
    const actual = digestWith(bytes, headerDigest);
    if (actual !== headerDigest) {
      throw new DigestMismatchError(
        headerDigest,
        actual,
        `manifest of ${formatReference(ref)} (Docker-Content-Digest)`,
      );
    }
  }
  return own;
}

/** Strips a content-type's parameters: `application/json; charset=utf-8` → `application/json`. */
export function bareMediaType(contentType: string | undefined): string {
  return (contentType ?? "").split(";")[0]!.trim();
}

/**
 * Picks the index entry for `platform`: same os and architecture, and variant when asked
 * (`arm64` treats a missing variant as `v8`). Entries without a platform or with
 * `unknown/unknown` (attestations) are skipped. When no variant is asked and several match,
 * the first one without a variant wins, else the first.
 * @throws {@link PlatformNotFoundError} when nothing matches.
 */
export function selectPlatform(index: ImageIndex, platform: Platform, ref: Reference): Descriptor {
  const candidates = index.manifests.filter(
    (d) => d.platform && d.platform.os !== "unknown" && d.platform.architecture !== "unknown",
  );
  const matches = candidates.filter((d) => {
    const p = d.platform!;
    if (!platformMatches(p, platform)) return false;
    if (platform["os.version"] && p["os.version"] && p["os.version"] !== platform["os.version"]) return false;
    return true;
  });
  if (matches.length === 0) {
    throw new PlatformNotFoundError(
      formatReference(ref),
      formatPlatform(platform),
      candidates.map((d) => formatPlatform(d.platform!)),
      { registry: ref.registry, repository: ref.repository },
    );
  }
  if (!platform.variant && matches.length > 1) {
    return matches.find((d) => !d.platform!.variant) ?? matches[0]!;
  }
  return matches[0]!;
}

/** Checks that a descriptor taken from a document has a digest and a sane size. */
export function checkDescriptor(d: Descriptor, what: string, ref: Reference): void {
  if (!d || typeof d.digest !== "string" || !isDigest(d.digest) || typeof d.size !== "number" || d.size < 0) {
    throw new RegistryProtocolError(`${what} of ${formatReference(ref)} has an invalid descriptor`, {
      registry: ref.registry,
      repository: ref.repository,
    });
  }
}
