import { formatReference, type Reference } from "@molt/oci";
import {
  type Registry,
  RegistryNotFoundError,
  type RegistryProgressEvent,
  type RegistryProgressHandler,
} from "@molt/registry-client";
import createDebug from "debug";
import type { LayerRef } from "../stage/image-state.js";
import type { LayerBytes } from "./layer-bytes.js";
import { openLayer } from "./layer-bytes.js";

const debug = createDebug("molt:push");

/** One blob upload started ahead of the push step: its result, and its events held until claimed. */
export interface EarlyUpload {
  readonly result: Promise<"exists" | "mounted" | "uploaded">;
  /** Replays the events so far to `onProgress` and forwards the later ones there. */
  claim(onProgress: RegistryProgressHandler | undefined): void;
}

/**
 * Uploads the layers a build writes as soon as each is written, while later steps run, so that
 * the push step at the end has only the config and the manifest left to send. Only layers of
 * the stages that make up the final image are given to it (the target stage and the stages it
 * is built `FROM`), and nothing starts before the destinations passed the push-permission check.
 * No manifest is put here: a failed build leaves no tag, only blobs no manifest refers to. Each
 * upload's progress events are kept until the push step claims the upload
 * ({@link EarlyUpload.claim}), so they belong to that step as before.
 */
export class EarlyPush {
  readonly #client: Registry;
  readonly #targets: readonly Reference[];
  readonly #ready: Promise<unknown> | undefined;
  readonly #from: LayerBytes;
  readonly #controller = new AbortController();
  readonly #uploads = new Map<string, EarlyUpload>();

  constructor(
    client: Registry,
    targets: readonly Reference[],
    from: Omit<LayerBytes, "onProgress" | "waitForOthers">,
    ready?: Promise<unknown>,
  ) {
    this.#client = client;
    this.#targets = targets;
    this.#ready = ready;
    const signal = from.signal
      ? AbortSignal.any([from.signal, this.#controller.signal])
      : this.#controller.signal;
    this.#from = { ...from, signal };
  }

  /** Starts uploading a layer the build just wrote (bytes in the build's store) to every destination. */
  layer(layer: LayerRef): void {
    if (layer.origin.kind !== "store") return;
    for (const target of this.#targets) this.#start(target, layer, { likelyNew: true });
  }

  /**
   * Starts mounting the base image's layers of a stage of the final image into every destination
   * on the base's own registry (a HEAD and a cross-repository mount per layer, no bytes moved),
   * so the push step does not wait for them. Layers of a base on another registry are left to
   * the push step, which streams them (that download would compete with the build's own).
   */
  baseLayers(layers: readonly LayerRef[]): void {
    for (const layer of layers) {
      if (layer.origin.kind !== "registry") continue;
      const from = layer.origin.reference;
      for (const target of this.#targets)
        if (from.registry === target.registry) this.#start(target, layer, { mountFrom: from });
    }
  }

  /**
   * For a cached layer of the final image, taken from a registry cache repository: mounts it
   * into every destination now (a HEAD, then a cross-repository mount where the destination
   * lacks it; never an upload), which is the push's own work and the check that the cache
   * repository still has the blob. True when every destination has it or mounted it; false
   * when one lacks it and the cache repository no longer has it (those uploads are forgotten,
   * so the layer rebuilt in its place is pushed as new); `undefined` when a destination is on
   * another registry (the push streams the layer there, and the build checks it otherwise).
   */
  cachedLayer(layer: LayerRef): Promise<boolean> | undefined {
    if (layer.origin.kind !== "registry") return undefined;
    const from = layer.origin.reference;
    if (this.#targets.length === 0 || this.#targets.some((t) => t.registry !== from.registry))
      return undefined;
    const results = this.#targets.map((t) => this.#start(t, layer, { mountFrom: from, mountOnly: true }));
    return Promise.all(results).then(
      () => true,
      (e: unknown) => {
        if (!(e instanceof RegistryNotFoundError) || e.registryCode !== "BLOB_UNKNOWN") throw e;
        for (const t of this.#targets) this.#uploads.delete(keyOf(t, layer.descriptor.digest));
        return false;
      },
    );
  }

  #start(
    target: Reference,
    layer: LayerRef,
    how: { likelyNew: true } | { mountFrom: Reference; mountOnly?: true },
  ): Promise<"exists" | "mounted" | "uploaded"> {
    const key = keyOf(target, layer.descriptor.digest);
    const running = this.#uploads.get(key);
    if (running) return running.result;
    const held: RegistryProgressEvent[] = [];
    let sink: RegistryProgressHandler | undefined;
    let claimed = false;
    const onProgress: RegistryProgressHandler = (e) => {
      if (claimed) sink?.(e);
      else held.push(e);
    };
    const signal = this.#from.signal!;
    const result = (async () => {
      await this.#ready;
      signal.throwIfAborted();
      debug("pushing %s to %s ahead of the push step", layer.descriptor.digest, formatReference(target));
      return this.#client.pushBlob(target, layer.descriptor, () => openLayer(layer, this.#from), {
        signal,
        ...how,
        onProgress,
      });
    })();
    result.catch(() => {});
    this.#uploads.set(key, {
      result,
      claim(to) {
        claimed = true;
        sink = to;
        for (const e of held.splice(0)) to?.(e);
      },
    });
    return result;
  }

  /** The upload started for `digest` to `target`, if one was. */
  take(target: Reference, digest: string): EarlyUpload | undefined {
    return this.#uploads.get(keyOf(target, digest));
  }

  /** Stops the uploads still running and waits for them (before the build's store is removed). */
  async close(): Promise<void> {
    this.#controller.abort(new Error("the build is over"));
    await Promise.allSettled([...this.#uploads.values()].map((u) => u.result));
  }
}

function keyOf(target: Reference, digest: string): string {
  return `${target.registry}/${target.repository} ${digest}`;
}
