import { writeFile } from "node:fs/promises";
import type { Digest } from "@molt/oci";

/** Writes the image's manifest digest (`sha256:…`, no newline) to `path`, as kaniko's `--digest-file`. */
export async function writeDigestFile(path: string, digest: Digest): Promise<void> {
  await writeFile(path, digest);
}
