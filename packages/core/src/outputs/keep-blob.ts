import { Transform } from "node:stream";
import type { BlobStore } from "@molt/layer-writer";
import type { Digest } from "@molt/oci";
import createDebug from "debug";

const debug = createDebug("molt:blobs");

/** Bytes queued for the disk beyond which reading waits for the disk. */
const MAX_PENDING = 8 << 20;

/**
 * A pass-through that also keeps the bytes of a blob being read from a registry in the build's
 * blob store, so a second reader in the same build (two stages on one base, a push streamed to
 * another registry) reads them from disk instead of downloading them again. The copy is adopted
 * under the digest its bytes actually have, only when the whole stream went through; a stream
 * that fails or is abandoned leaves nothing behind. A failure to keep the copy never fails the read.
 */
export async function keepWhileReading(store: BlobStore, digest: Digest): Promise<Transform> {
  const writer = await store.createWriter();
  let pending = 0;
  let keep = true;
  let settled = false;
  const drop = () => {
    if (settled) return;
    settled = true;
    writer.abort().catch(() => undefined);
  };
  const tee = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      if (!keep) return cb(null, chunk);
      pending += chunk.length;
      const written = writer.write(chunk).then(
        () => {
          pending -= chunk.length;
        },
        (e: unknown) => {
          keep = false;
          debug("not keeping %s: %O", digest, e);
        },
      );
      if (pending > MAX_PENDING) written.then(() => cb(null, chunk));
      else cb(null, chunk);
    },
    flush(cb) {
      if (!keep) {
        drop();
        return cb();
      }
      settled = true;
      writer.commit().then(
        (r) => {
          if (r.digest !== digest) debug("kept %s under its real digest %s", digest, r.digest);
          cb();
        },
        (e: unknown) => {
          debug("not keeping %s: %O", digest, e);
          cb();
        },
      );
    },
  });
  tee.on("close", drop);
  tee.on("error", drop);
  return tee;
}
