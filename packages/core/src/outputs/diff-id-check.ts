import { createHash } from "node:crypto";
import { PassThrough, type Readable, Transform } from "node:stream";
import { DiffIdMismatchError, openDecompressed } from "@molt/snapshotter";
import createDebug from "debug";
import type { LayerRef } from "../stage/image-state.js";

const debug = createDebug("molt:blobs");

/**
 * Passes a layer's compressed bytes through unchanged while decompressing a copy of them on the
 * side and hashing the tar. The last chunk is held back until the tar's sha256 is known: it goes
 * out (and the stream ends) only when that is the layer's diff_id; otherwise the stream fails with
 * {@link DiffIdMismatchError} (`MOLT_DIFFID_MISMATCH`), so a consumer writing the bytes somewhere
 * (an OCI layout blob, a registry upload with its Content-Length) never gets the whole blob of a
 * layer whose config lies. `index` is the layer's position in the image. Costs a decompression
 * (gzip on zlib's thread pool, zstd in the zstd program's process), no extra read.
 */
export function checkDiffId(input: Readable, layer: LayerRef, index: number): Readable {
  const side = new PassThrough({ highWaterMark: 1 << 20 });
  const hash = createHash("sha256");
  let failed: Error | undefined;
  const hashed = (async () => {
    const opened = await openDecompressed(side, false);
    try {
      for await (const b of opened.bytes) hash.update(b);
    } catch (e) {
      opened.destroy();
      throw e;
    }
    return `sha256:${hash.digest("hex")}`;
  })();
  const wrap = (e: unknown) =>
    new Error(
      `layer ${index + 1} (${layer.descriptor.digest}): cannot decompress it to check its diff_id: ${(e as Error).message}`,
      {
        cause: e,
      },
    );
  let held: Buffer | undefined;
  const check = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      if (failed) return cb(failed);
      const out = held;
      held = chunk;
      if (side.write(chunk)) cb(null, out);
      else side.once("drain", () => cb(failed ?? null, out));
    },
    flush(cb) {
      side.end();
      hashed.then(
        (actual) => {
          if (actual === layer.diffId) return cb(null, held);
          debug("layer %s: diff_id %s declared, tar is %s", layer.descriptor.digest, layer.diffId, actual);
          cb(new DiffIdMismatchError(index, layer.descriptor.digest, layer.diffId, actual));
        },
        (e: unknown) => cb(wrap(e)),
      );
    },
  });
  // A decompressor that fails early (not a layer it can read) stops the stream at once.
  hashed.catch((e: unknown) => {
    failed = wrap(e);
    check.destroy(failed);
  });
  input.on("error", (e) => check.destroy(e));
  check.on("close", () => {
    side.destroy();
    if (!input.readableEnded) input.destroy();
  });
  return input.pipe(check);
}
