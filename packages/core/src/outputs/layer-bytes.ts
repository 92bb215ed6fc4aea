import type { Readable } from "node:stream";
import type { BlobStore } from "@molt/layer-writer";
import type { Descriptor, Reference } from "@molt/oci";
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

/** A registry blob opened ahead of its reader ({@link openLayerAhead}), until one takes it. */
interface Ahead {
  /** The body (kept in the store as it streams), or undefined when the store had the blob. */
  readonly body: Promise<Readable | undefined>;
  /** Progress of the download so far, and where it goes once a reader took it. */
  readonly early: Parameters<RegistryProgressHandler>[0][];
  to?: RegistryProgressHandler | undefined;
}
const ahead = new WeakMap<BlobStore, Map<string, Ahead>>();

/**
 * Starts downloading a registry layer now, before anyone reads it: the base layer of a stage
 * sure to RUN is asked for as soon as the base's manifest is known, while its config is still
 * coming (issue 16: 10-25 ms at the start of every build on a base). The first reader that reads
 * every stream to its end (`waitForOthers`, as extraction does) takes the open body, and its
 * progress from the start; a body nobody took is dropped by {@link dropLayersAhead}.
 */
export function openLayerAhead(descriptor: Descriptor, reference: Reference, from: LayerBytes): void {
  // The diff_id (in the config, not here yet) is not needed to fetch: the reader checks it.
  const layer: LayerRef = { descriptor, diffId: descriptor.digest, origin: { kind: "registry", reference } };
  let inStore = ahead.get(from.store);
  if (!inStore) ahead.set(from.store, (inStore = new Map()));
  const digest = layer.descriptor.digest;
  if (inStore.has(digest) || streaming.get(from.store)?.has(digest)) return;
  const entry: Ahead = {
    early: [],
    body: (async () => {
      if (await from.store.has(digest).catch(() => false)) return undefined;
      const body = await fetchKeeping(
        layer,
        { ...from, onProgress: (e) => (entry.to ? entry.to(e) : entry.early.push(e)) },
        (s) => s,
      );
      // Failing before a reader listens is no crash: that reader then fetches the blob itself.
      body.on("error", () => {});
      return body;
    })(),
  };
  entry.body.catch(() => {});
  inStore.set(digest, entry);
}

/** Destroys the bodies opened ahead in `store` that no reader took (at the end of a build). */
export async function dropLayersAhead(store: BlobStore): Promise<void> {
  const inStore = ahead.get(store);
  if (!inStore) return;
  ahead.delete(store);
  for (const entry of inStore.values()) (await entry.body.catch(() => undefined))?.destroy();
}

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
  const opened = ahead.get(from.store)?.get(digest);
  ahead.get(from.store)?.delete(digest);
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
  if (opened) {
    const body = await opened.body.catch(() => undefined);
    // Bytes checked against the diff_id on the way in are kept only if they pass: such a reader
    // downloads on its own (extraction, the reader this is for, checks the diff_id itself).
    if (body && checkDiffIdAt !== undefined) body.destroy();
    else if (body && !body.destroyed) {
      opened.to = from.onProgress ?? (() => {});
      for (const e of opened.early.splice(0)) opened.to(e);
      body.on("close", settle);
      return body;
    }
  }
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
