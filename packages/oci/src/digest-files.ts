import { randomBytes } from "node:crypto";
import { mkdir, rename, rm, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import type { Digest } from "./digest.js";
import type { Reference } from "./reference.js";

async function writeAtomic(path: string, text: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.${randomBytes(6).toString("hex")}.tmp`;
  try {
    await writeFile(tmp, text, { mode: 0o644 });
    await rename(tmp, path);
  } finally {
    await rm(tmp, { force: true });
  }
}

/** `registry/repository` of a reference, without tag or digest. */
function repoName(ref: Reference): string {
  return `${ref.registry}/${ref.repository}`;
}

/**
 * The text of `--image-name-with-digest-file`: one line `registry/repository@digest` per
 * destination (tag dropped), each ending in a newline.
 */
export function imageNameWithDigest(destinations: Reference[], digest: Digest): string {
  return destinations.map((r) => `${repoName(r)}@${digest}\n`).join("");
}

/**
 * The text of `--image-name-tag-with-digest-file`: one line `registry/repository:tag@digest` per
 * destination (`:tag` omitted for a destination without one), each ending in a newline.
 */
export function imageNameTagWithDigest(destinations: Reference[], digest: Digest): string {
  return destinations.map((r) => `${repoName(r)}${r.tag ? `:${r.tag}` : ""}@${digest}\n`).join("");
}

/**
 * `--digest-file`: writes the image digest (`sha256:…`, no newline, as kaniko does) to `path`,
 * creating missing parent directories; the file is replaced atomically.
 */
export async function writeDigestFile(path: string, digest: Digest): Promise<void> {
  await writeAtomic(path, digest);
}

/** `--image-name-with-digest-file`: writes {@link imageNameWithDigest} to `path`, atomically. */
export async function writeImageNameWithDigestFile(
  path: string,
  destinations: Reference[],
  digest: Digest,
): Promise<void> {
  await writeAtomic(path, imageNameWithDigest(destinations, digest));
}

/** `--image-name-tag-with-digest-file`: writes {@link imageNameTagWithDigest} to `path`, atomically. */
export async function writeImageNameTagWithDigestFile(
  path: string,
  destinations: Reference[],
  digest: Digest,
): Promise<void> {
  await writeAtomic(path, imageNameTagWithDigest(destinations, digest));
}
