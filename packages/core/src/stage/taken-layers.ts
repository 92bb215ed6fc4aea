import type { Digest } from "@molt/oci";
import { hexOf } from "../cache/key.js";
import type { CacheHit } from "../cache/layer-cache.js";
import type { StepCache } from "../cache/step-cache.js";
import type { LayerRef } from "./image-state.js";

/** A cached layer a stage took by descriptor, and how its blob is still to be checked. */
export interface TakenLayer {
  /** The step (0-based) that took it. */
  index: number;
  /** That step's key. */
  key: Digest;
  /** The layer as the image holds it (its origin is the store the hit came from). */
  layer?: LayerRef | undefined;
  /** The store's check of the bytes (see `CacheHit.verify`). */
  verify?: ((signal?: AbortSignal) => Promise<boolean>) | undefined;
  /** The store's check that the blob is still there (see `CacheHit.present`). */
  present?: ((signal?: AbortSignal) => Promise<boolean>) | undefined;
  /** Taken from a registry, which keeps the bytes it has under a digest even when they are bad. */
  registry?: boolean | undefined;
}

/** A taken layer that cannot be used, with why: its bytes are bad, or its blob is gone. */
export interface UnusableLayer {
  index: number;
  key: Digest;
  digest: string;
  why: "bad" | "missing";
}

/**
 * The warning a build gives for an unusable taken layer of step `step` (one line), and the
 * reason the step's miss is reported with.
 */
export function describeUnusable(
  r: UnusableLayer,
  step: string,
  store: string,
): { warning: string; reason: string } {
  return r.why === "missing"
    ? {
        warning: `cache entry ${hexOf(r.key).slice(0, 12)} in ${store}: its layer ${r.digest} of ${step} is missing; rebuilding the step`,
        reason: `its cached layer ${r.digest} is missing`,
      }
    : {
        warning: `cached layer ${r.digest} of ${step} in ${store} failed verification; rebuilding from that step`,
        reason: `its cached layer ${r.digest} failed verification`,
      };
}

/**
 * Stands in for a taken layer's `present`: the push's own existence check or mount of it into
 * the build's destinations, started now (true when every destination has it or mounted it,
 * false when the store no longer has it); `undefined` where no push does so.
 */
export type ConfirmCached = (layer: LayerRef) => Promise<boolean> | undefined;

/**
 * Checks every layer of `taken` not yet checked in this build, all at once, and answers the
 * first (by step) that cannot be used. A layer with `verify` has its bytes checked; one with
 * `present` only its presence, by `confirm` (the push's mount) where that stands in, else by
 * `present` (a HEAD). One checked fine is remembered in `cache`, so a later stage taking it
 * asks nothing again.
 */
export async function firstUnusableLayer(
  taken: ReadonlyMap<string, TakenLayer>,
  cache: StepCache,
  confirm: ConfirmCached | undefined,
  signal: AbortSignal | undefined,
): Promise<UnusableLayer | undefined> {
  const checks = [...taken].map(async ([digest, t]): Promise<UnusableLayer | undefined> => {
    if (t.verify) {
      if (cache.verified(digest)) return undefined;
      if (await t.verify(signal)) {
        cache.markVerified(digest);
        return undefined;
      }
      return { index: t.index, key: t.key, digest, why: "bad" };
    }
    if (!t.present || cache.present(digest)) return undefined;
    const present = t.present;
    // The push's mount, where it stands in; one that fails for another reason than the blob
    // being gone (the destination refusing, say: the push reports that) leaves it to `present`.
    const confirmed = t.layer ? confirm?.(t.layer) : undefined;
    const ok = confirmed
      ? await confirmed.catch(() => presentOrGone(present, signal))
      : await presentOrGone(present, signal);
    if (ok) {
      cache.markPresent(digest);
      return undefined;
    }
    return { index: t.index, key: t.key, digest, why: "missing" };
  });
  const results = await Promise.all(checks);
  return results.filter((r): r is UnusableLayer => r !== undefined).sort((a, b) => a.index - b.index)[0];
}

/** Whether a hit's layer blob is still in its store, where the store can say so cheaply (`present`). */
export async function layerPresent(hit: CacheHit, signal: AbortSignal | undefined): Promise<boolean> {
  if (!hit.entry.layer || !hit.present) return true;
  return presentOrGone(hit.present, signal);
}

/**
 * A store's `present`, where a check that fails (the store unreachable) cannot vouch for the
 * blob: false, a miss, as a failed lookup is (an abort stays an abort).
 */
function presentOrGone(
  present: (signal?: AbortSignal) => Promise<boolean>,
  signal: AbortSignal | undefined,
): Promise<boolean> {
  return present(signal).catch((e: unknown) => {
    if (signal?.aborted) throw e;
    return false;
  });
}

/**
 * After a step failed with `e`: the first (by step) taken layer whose blob its store no longer
 * has, when `e` says a blob was not found (materialising the root fetches the taken layers, so a
 * blob deleted behind the cache's back fails there); `undefined` otherwise.
 */
export async function missingTakenLayer(
  e: unknown,
  taken: ReadonlyMap<string, TakenLayer>,
  signal: AbortSignal | undefined,
): Promise<UnusableLayer | undefined> {
  if (!isNotFound(e)) return undefined;
  const order = [...taken].filter(([, t]) => t.present).sort(([, a], [, b]) => a.index - b.index);
  for (const [digest, t] of order)
    if (!(await t.present!(signal))) return { index: t.index, key: t.key, digest, why: "missing" };
  return undefined;
}

function isNotFound(e: unknown): boolean {
  for (let x: unknown = e, depth = 0; x instanceof Error && depth < 8; x = x.cause, depth++)
    if ((x as { code?: unknown }).code === "MOLT_REGISTRY_NOT_FOUND") return true;
  return false;
}
