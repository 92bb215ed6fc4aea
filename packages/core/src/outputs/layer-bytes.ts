import type { Readable } from "node:stream";
import type { BlobStore } from "@molt/layer-writer";
import type { Registry, RegistryProgressHandler } from "@molt/registry-client";
import type { LayerRef } from "../stage/image-state.js";
import { checkDiffId } from "./diff-id-check.js";
import { keepWhileReading } from "./keep-blob.js";

/** Where outputs read layer bytes from. */
export interface LayerBytes {
  client: Registry;
  store: BlobStore;
  signal?: AbortSignal;
  /** Byte progress of layers streamed from a registry. */
  onProgress?: RegistryProgressHandler | undefined;
  /**
   * The reader reads every stream to its end or destroys it (extraction does): a second such
   * reader of a registry blob still streaming waits for that stream instead of downloading it again.
   */
  waitForOthers?: boolean;
}

/** Registry blobs being streamed into each store now, by digest: settled when the stream is over. */
const streaming = new WeakMap<BlobStore, Map<string, Promise<void>>>();

/**
 * Opens a layer's bytes: from the local blob store, or streamed from its registry. A registry
 * layer read once in a build is kept in the build's blob store as it streams, so the next reader
 * (another stage on the same base) reads it from disk: each blob is downloaded at most once. A
 * reader that comes while the blob is still streaming (stages running side by side) waits for
 * that stream and then reads the kept copy; it downloads the blob itself only if the copy was
 * not kept (the first stream failed).
 *
 * With `checkDiffIdAt` (the layer's position in the image), bytes that come from outside the
 * build — its registry or a local image source — are checked against the layer's diff_id on the
 * way (see {@link checkDiffId}); the stream fails instead of ending when they do not match, and a
 * blob that fails is not kept. Bytes from the build's store were checked by their first reader
 * (extraction checks them itself, outputs ask for this check), or are the build's own layers.
 */
export async function openLayer(
  layer: LayerRef,
  from: LayerBytes,
  checkDiffIdAt?: number,
): Promise<Readable> {
  const digest = layer.descriptor.digest;
  const checked = (s: Readable) => (checkDiffIdAt === undefined ? s : checkDiffId(s, layer, checkDiffIdAt));
  if (layer.origin.kind === "store") return from.store.openRead(digest);
  if (layer.origin.kind === "source") return checked(await layer.origin.source.open(digest));
  if (!from.waitForOthers) {
    if (await from.store.has(digest)) return from.store.openRead(digest);
    return fetchKeeping(layer, from, checked);
  }
  let inStore = streaming.get(from.store);
  if (!inStore) streaming.set(from.store, (inStore = new Map()));
  for (let other = inStore.get(digest); other; other = inStore.get(digest))
    await abortable(other, from.signal);
  // Marked before the next await, so a reader arriving meanwhile waits for this one.
  let over!: () => void;
  const done = new Promise<void>((r) => {
    over = r;
  });
  inStore.set(digest, done);
  const settle = () => {
    if (inStore.get(digest) === done) inStore.delete(digest);
    over();
  };
  if (await from.store.has(digest).catch(() => false)) {
    settle();
    return from.store.openRead(digest);
  }
  try {
    const stream = await fetchKeeping(layer, from, checked);
    // "close" comes after the kept copy was committed (flush) or dropped.
    stream.on("close", settle);
    return stream;
  } catch (e) {
    settle();
    throw e;
  }
}

/** Resolves with `p`, or rejects with the signal's reason when it is aborted first. */
function abortable(p: Promise<void>, signal: AbortSignal | undefined): Promise<void> {
  if (!signal) return p;
  signal.throwIfAborted();
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    p.then(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    });
  });
}

/** Streams a registry layer, keeping its bytes in the store as they pass. */
async function fetchKeeping(
  layer: LayerRef,
  from: LayerBytes,
  checked: (s: Readable) => Readable,
): Promise<Readable> {
  const digest = layer.descriptor.digest;
  if (layer.origin.kind !== "registry") throw new Error(`layer ${digest} is not in a registry`);
  // The keeper first: a small blob can arrive (and fail verification) in full before an await
  // between fetching and listening would let anyone hear its error.
  const tee = await keepWhileReading(from.store, digest);
  let body: Readable;
  try {
    body = checked(
      await from.client.fetchBlob(layer.origin.reference, layer.descriptor, {
        ...(from.signal ? { signal: from.signal } : {}),
        ...(from.onProgress ? { onProgress: from.onProgress } : {}),
      }),
    );
  } catch (e) {
    tee.destroy();
    throw e;
  }
  body.on("error", (e) => tee.destroy(e));
  tee.on("close", () => {
    if (!body.destroyed) body.destroy();
  });
  return body.pipe(tee);
}
