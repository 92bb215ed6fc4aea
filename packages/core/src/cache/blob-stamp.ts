import { createHash, randomBytes } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Digest } from "@molt/oci";

/**
 * What identifies one version of a blob file without reading it: size, inode, and the
 * modification and change times in nanoseconds (ctime moves on every write or rename onto the
 * name and cannot be set back by a user program), so an overwritten blob never matches.
 */
async function fileStamp(path: string): Promise<string | undefined> {
  try {
    const s = await stat(path, { bigint: true });
    return `${s.size} ${s.ino} ${s.mtimeNs} ${s.ctimeNs}`;
  } catch {
    return undefined;
  }
}

/**
 * Verified blobs of a cache directory, remembered per file version under
 * `molt-cache/verified/<hex>`: a blob is hashed once after it is written or changed, and a build
 * that only references it (all hits, the image assembled from descriptors) checks it with one
 * `stat` and a small read instead of hashing it again.
 */
export class BlobStamps {
  constructor(
    private readonly dir: string,
    private readonly blobPath: (digest: Digest) => string,
  ) {}

  #stampPath(digest: Digest): string {
    return join(this.dir, "molt-cache", "verified", digest.slice(digest.indexOf(":") + 1));
  }

  /** Records that the blob file as it is now holds `digest`'s bytes (molt just wrote or hashed it). */
  async remember(digest: Digest, stamp?: string): Promise<void> {
    const now = stamp ?? (await fileStamp(this.blobPath(digest)));
    if (!now) return;
    const path = this.#stampPath(digest);
    await mkdir(join(path, ".."), { recursive: true });
    const tmp = `${path}.${randomBytes(6).toString("hex")}.tmp`;
    try {
      await writeFile(tmp, now);
      await rename(tmp, path);
    } finally {
      await rm(tmp, { force: true });
    }
  }

  /**
   * True when the blob's bytes are `digest`'s (and `size` long): at once when this version of
   * the file was verified before, else by hashing it (then remembered). False when it is
   * missing or its bytes differ.
   */
  async verify(digest: Digest, size: number, signal?: AbortSignal): Promise<boolean> {
    const path = this.blobPath(digest);
    const before = await fileStamp(path);
    if (!before) return false;
    const known = await readFile(this.#stampPath(digest), "utf8").catch(() => undefined);
    if (known === before) return true;
    const h = createHash("sha256");
    let n = 0;
    for await (const chunk of createReadStream(path, signal ? { signal } : {})) {
      h.update(chunk as Buffer);
      n += (chunk as Buffer).length;
    }
    const good = n === size && `sha256:${h.digest("hex")}` === digest;
    // Remembered only when the file did not change while it was read.
    if (good && (await fileStamp(path)) === before) await this.remember(digest, before);
    return good;
  }
}
