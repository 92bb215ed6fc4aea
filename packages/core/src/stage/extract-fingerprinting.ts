import { Readable } from "node:stream";
import { DigestMismatchError } from "@molt/oci";
import { type Baseline, type ExtractOptions, extract, openDecompressed } from "@molt/snapshotter";
import { fingerprintLayer, type LayerFingerprints } from "../cache/layer-delta.js";
import { type LayerBytes, openLayer } from "../outputs/layer-bytes.js";
import type { LayerRef } from "./image-state.js";

/** An async iterable fed by pushes: what one reader of a stream hands a second reader on the way. */
class ChunkFeed implements AsyncIterable<Buffer> {
  #chunks: Buffer[] = [];
  #head = 0;
  #ended = false;
  #wake: (() => void) | undefined;

  push(chunk: Buffer): void {
    this.#chunks.push(chunk);
    this.#wake?.();
  }

  end(): void {
    this.#ended = true;
    this.#wake?.();
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Buffer> {
    for (;;) {
      while (this.#head < this.#chunks.length) {
        const c = this.#chunks[this.#head]!;
        this.#chunks[this.#head++] = EMPTY;
        if (this.#head > 1024) {
          this.#chunks = this.#chunks.slice(this.#head);
          this.#head = 0;
        }
        yield c;
      }
      if (this.#ended) return;
      await new Promise<void>((r) => {
        this.#wake = r;
      });
      this.#wake = undefined;
    }
  }
}

const EMPTY = Buffer.alloc(0);

/**
 * Extracts `layer` into `root` (onto `options.baseline`) and, from the same decompressed bytes,
 * computes its per-entry fingerprints for the snapshot store ({@link fingerprintLayer}): the
 * layer is read and decompressed once, where filling the store used to read and decompress it a
 * second time after extraction. The compressed digest and the diff_id are verified as `extract`
 * verifies them. Resolves to the fingerprints, or undefined when the layer cannot have any
 * (whiteouts, global PAX headers).
 */
export async function extractFingerprinting(
  layer: LayerRef,
  from: LayerBytes,
  root: string,
  options: ExtractOptions & { baseline: Baseline },
  has: (path: string) => boolean,
): Promise<LayerFingerprints | undefined> {
  const digest = layer.descriptor.digest as string;
  const opened = await openDecompressed(
    await openLayer(layer, { ...from, waitForOthers: true }),
    digest.startsWith("sha256:"),
  );
  const feed = new ChunkFeed();
  const fingerprinted = fingerprintLayer(feed, has);
  let done = false;
  try {
    async function* tee(): AsyncGenerator<Buffer> {
      for await (const c of opened.bytes) {
        feed.push(c);
        yield c;
      }
    }
    await extract(
      [{ open: () => Readable.from(tee(), { objectMode: false }), diffId: layer.diffId }],
      root,
      options,
    );
    done = true;
  } finally {
    // Ends the fingerprinter in any case (on a failure it sees a cut tar and gives up).
    feed.end();
    if (!done) opened.destroy();
  }
  const got = opened.digest();
  if (got !== undefined && got !== digest) throw new DigestMismatchError(digest, got, "layer");
  return fingerprinted;
}
