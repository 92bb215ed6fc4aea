import type { BlobStore } from "@molt/layer-writer";
import type { LayerRef } from "../stage/image-state.js";

const GZIP = [0x1f, 0x8b];
const ZSTD = [0x28, 0xb5, 0x2f, 0xfd];
/** A zstd skippable frame (magic 0x184D2A50, 4 bytes of payload): decoders pass over it. */
const ZSTD_SKIPPABLE = Buffer.from([0x50, 0x2a, 0x4d, 0x18, 4, 0, 0, 0, 0x6d, 0x6f, 0x6c, 0x74]);

/**
 * The same layer under another blob digest: the same uncompressed tar (so the same diff_id and
 * files), other compressed bytes. For a layer rebuilt with the digest of a blob whose bytes a
 * registry keeps wrong: the distribution registry never replaces a blob it has (an upload of
 * that digest is accepted and the old bytes stay), so an image naming that digest would name
 * bad bytes. gzip: the header's MTIME field is changed (RFC 1952: informational only);
 * zstd: a skippable frame goes in front (RFC 8878 §3.1.2). Returns `undefined` for an
 * uncompressed layer, whose every byte is in its diff_id.
 */
export async function freshDigest(store: BlobStore, layer: LayerRef): Promise<LayerRef | undefined> {
  const digest = layer.descriptor.digest;
  const w = await store.createWriter();
  try {
    let first = true;
    let kind: "gzip" | "zstd" | undefined;
    for await (const c of store.openRead(digest)) {
      let chunk = Buffer.from(c as Buffer);
      if (first) {
        first = false;
        if (chunk.length >= 10 && chunk[0] === GZIP[0] && chunk[1] === GZIP[1]) {
          kind = "gzip";
          chunk = Buffer.from(chunk);
          chunk[4] = chunk[4]! ^ 0x01;
        } else if (chunk.length >= 4 && ZSTD.every((b, i) => chunk[i] === b)) {
          kind = "zstd";
          await w.write(ZSTD_SKIPPABLE);
        } else break;
      }
      await w.write(chunk);
    }
    if (!kind) {
      await w.abort();
      return undefined;
    }
    const { digest: fresh, size } = await w.commit();
    return { ...layer, descriptor: { ...layer.descriptor, digest: fresh, size } };
  } catch (e) {
    await w.abort();
    throw e;
  }
}
