import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { Readable } from "node:stream";
import {
  type Baseline,
  baselineFromBytes,
  baselineToBytes,
  createSnapshotter,
  extract,
  type LayerSource,
  mountOverlay,
  prepareSnapshotter,
  type Snapshotter,
  scanTree,
  unmount,
} from "@molt/snapshotter";
import createDebug from "debug";
import { resolveCacheOptions } from "../cache/cache-options.js";
import { FingerprintTable } from "../cache/fingerprint-table.js";
import { layerDelta } from "../cache/layer-delta.js";
import { type SnapshotMeta, SnapshotStore } from "../cache/snapshot-store.js";
import type { BuildOptions } from "../options.js";
import { type LayerBytes, openLayer } from "../outputs/layer-bytes.js";
import { extractFingerprinting } from "./extract-fingerprinting.js";
import type { LayerRef } from "./image-state.js";
import { diffIds, type Plan, planFor } from "./snapshot-plan.js";
import type { MaterialiseOptions, StageFs } from "./stage-fs.js";

const debug = createDebug("molt:stage");

/**
 * Whether this process may mount a stage's overlay: root, in a private mount namespace of its
 * own (the `molt` command makes one: every mount dies with it, even on SIGKILL). A library
 * caller in the host's namespace gets no snapshots (nothing is mounted where others see it).
 */
export function canUseSnapshots(): boolean {
  return process.geteuid?.() === 0 && process.env.MOLT_MOUNT_NAMESPACE_HELD_BY !== undefined;
}

/**
 * Materialises a stage's root from the persistent snapshot store (`--cache-dir`): the snapshot of
 * the same chain slot is taken for this build alone and mounted as the read-only lower layer of
 * an overlay at `dir/root`; what differs from it is applied through the overlay — the layers
 * added after it, or, when the last layer it holds was replaced (a COPY whose sources changed),
 * only the entries that differ ({@link layerDelta}). With no usable snapshot the layers are
 * extracted into a new one first, which is stored when the stage is done. The snapshot's own
 * files are never written while a build uses it. Returns undefined when no overlay can be
 * mounted here (the caller extracts as usual).
 */
export async function materialiseFromSnapshots(
  dir: string,
  layers: readonly LayerRef[],
  from: LayerBytes,
  snapshots: SnapshotStore,
  slot: string,
  options: MaterialiseOptions,
): Promise<StageFs | undefined> {
  // No overlay probe first (two process spawns): a failed mount below falls back instead.
  await mkdir(dir, { recursive: true });
  const signalOpt = from.signal ? { signal: from.signal } : {};
  const limitsOpt = options.limits ? { limits: options.limits } : {};
  const progressOpt = options.onProgress ? { onProgress: options.onProgress } : {};
  const source = (layer: LayerRef) => layerSourceOf(layer, from);
  const t0 = Date.now();
  const snapshotOptions = {
    workDir: join(dir, "snapshot"),
    mode: options.mode ?? "auto",
    ...(options.ignore ? { ignore: options.ignore } : {}),
  };
  const ids = diffIds(layers);
  let held = await snapshots.take(slot);
  let plan: Plan | undefined;
  let created: SnapshotMeta | undefined;
  let baseline: Baseline | undefined;
  try {
    if (held) plan = await planFor(held.meta, layers, ids, from);
    if (held && !plan) {
      debug("snapshot of this slot holds other layers: extracting a new one");
      await snapshots.discard(held.dir);
      held = undefined;
    }
    if (!held) {
      const made = await snapshots.create(slot);
      held = { ...made, meta: undefined as unknown as SnapshotMeta };
      baseline = await extract(layers.slice(0, -1).map(source), made.root, {
        ...signalOpt,
        ...limitsOpt,
        ...progressOpt,
      });
      const last = layers.at(-1)!;
      const below = baseline.clone();
      const fingerprints = await extractFingerprinting(
        last,
        from,
        made.root,
        { ...signalOpt, ...limitsOpt, ...progressOpt, baseline },
        (p) => below.has(p),
      );
      const tx = Date.now();
      // The root's exact index, kept beside it: the next build reads it instead of walking the root.
      await writeFile(join(made.dir, BASELINE_FILE), baselineToBytes(baseline));
      debug(
        "new snapshot: extracted and fingerprinted in %d ms, index written in %d ms",
        tx - t0,
        Date.now() - tx,
      );
      let bytes = 0;
      for (const [, e] of baseline.entries()) bytes += e.type === "file" ? e.size : 0;
      const table = fingerprints && FingerprintTable.of(fingerprints);
      created = { layers: ids, last: table, bytes, created: new Date().toISOString() };
      plan = { kind: "exact", rest: [] };
    }
  } catch (e) {
    if (held) await snapshots.discard(held.dir).catch(() => {});
    throw e;
  }
  const lowerDir = held.dir;
  const root = join(dir, "root");
  const upper = join(dir, "upper");
  const work = join(dir, "work");
  for (const d of [root, upper, work]) await mkdir(d, { recursive: true });
  const err = await mountOverlay(held.root, upper, work, root);
  if (err) {
    debug("no snapshots: the stage overlay did not mount (%s)", err);
    if (!created) {
      await snapshots.release(lowerDir, slot);
      return undefined;
    }
    // The layers are extracted already: that root serves the stage as a plain one (the RUNs
    // write into it, so it is dropped at the end, never stored).
    return plainStage(held.root, lowerDir, baseline!, snapshots, dir, from, options);
  }
  // molt's own snapshotter starts its helper shell and overlay check now, beside reading the
  // root's index and writing the delta: the RUN waited ~50 ms for them after the root was
  // ready (a process start and a test mount). Not earlier: the helper's private mount namespace
  // is a copy made when it starts, and must hold the stage overlay.
  const prepared = options.factory ? undefined : prepareSnapshotter(root, snapshotOptions);
  let closed = false;
  const release = async () => {
    if (closed) return;
    closed = true;
    await unmount(root).catch((e) => debug("unmounting the stage overlay failed: %O", e));
    await (created ? snapshots.release(lowerDir, slot, created) : snapshots.release(lowerDir, slot));
  };
  try {
    const t1 = Date.now();
    let how = "extracted";
    if (!baseline) ({ baseline, how } = await storedBaseline(held.dir, root, signalOpt));
    debug("snapshot: planned in %d ms, root index %s in %d ms", t1 - t0, how, Date.now() - t1);
    if (plan!.kind === "delta") {
      const bytes = plan!.delta;
      await extract([{ open: () => Readable.from([bytes]) }], root, { ...signalOpt, baseline });
      debug("snapshot delta: %d entries written, %d removed", plan!.changed, plan!.removed);
    }
    if (plan!.rest.length > 0)
      await extract(plan!.rest.map(source), root, { ...signalOpt, ...limitsOpt, ...progressOpt, baseline });
    debug(
      "materialised %d layers into %s from the snapshot store (%s) in %d ms",
      layers.length,
      root,
      created ? "new snapshot" : plan!.kind,
      Date.now() - t0,
    );
    const snapshotter = prepared
      ? await createSnapshotter(root, { ...snapshotOptions, baseline, prepared })
      : await options.factory!(root, { ...snapshotOptions, baseline });
    return {
      root,
      snapshotter,
      async apply(layer) {
        await extract([source(layer)], root, { ...signalOpt, baseline: snapshotter.baseline });
      },
      async close() {
        try {
          await snapshotter.close();
        } finally {
          await release();
        }
      },
    };
  } catch (e) {
    await prepared?.discard();
    await release();
    throw e;
  }
}

/** A layer as `extract` reads it: bytes from the build's store or its registry, digest and diff_id verified. */
function layerSourceOf(layer: LayerRef, from: LayerBytes): LayerSource {
  return {
    open: () => openLayer(layer, { ...from, waitForOthers: true }),
    digest: layer.descriptor.digest,
    mediaType: layer.descriptor.mediaType,
    diffId: layer.diffId,
  };
}

/** A stage on a new snapshot's root used in place (no overlay could be mounted): dropped at close. */
async function plainStage(
  root: string,
  snapshotDir: string,
  baseline: Baseline,
  snapshots: SnapshotStore,
  dir: string,
  from: LayerBytes,
  options: MaterialiseOptions,
): Promise<StageFs> {
  const signalOpt = from.signal ? { signal: from.signal } : {};
  let snapshotter: Snapshotter;
  try {
    snapshotter = await (options.factory ?? createSnapshotter)(root, {
      baseline,
      workDir: join(dir, "snapshot"),
      mode: options.mode ?? "auto",
      ...(options.ignore ? { ignore: options.ignore } : {}),
    });
  } catch (e) {
    await snapshots.discard(snapshotDir);
    throw e;
  }
  return {
    root,
    snapshotter,
    async apply(layer) {
      await extract([layerSourceOf(layer, from)], root, { ...signalOpt, baseline: snapshotter.baseline });
    },
    async close() {
      try {
        await snapshotter.close();
      } finally {
        await snapshots.discard(snapshotDir);
      }
    },
  };
}

/** The file beside a snapshot's `root/` holding its exact {@link Baseline} (see `baselineToBytes`). */
const BASELINE_FILE = "baseline.bin";

/**
 * The index of a held snapshot's root as stored with it (the root is never written while stored
 * or held, so it is still exact), else, for a snapshot stored without one or an unreadable file,
 * a scan of the mounted root.
 */
async function storedBaseline(
  dir: string,
  root: string,
  signalOpt: { signal?: AbortSignal },
): Promise<{ baseline: Baseline; how: string }> {
  try {
    return { baseline: baselineFromBytes(await readFile(join(dir, BASELINE_FILE))), how: "read" };
  } catch (e) {
    debug("snapshot index unusable (%s): scanning the root", (e as Error).message);
    return { baseline: await scanTree(root, signalOpt), how: "scanned" };
  }
}

/**
 * The build's snapshot store opener: in the first directory cache store, unless its `snapshots`
 * is false or the cache is read-only (`push: false`), and only where {@link canUseSnapshots}.
 * Opened once, on the first materialisation.
 */
export function snapshotStoreOf(
  options: BuildOptions,
): (() => Promise<SnapshotStore | undefined>) | undefined {
  const cache = resolveCacheOptions(options.cache);
  const dir = cache.dirs[0];
  if (!dir || dir.snapshots === false || cache.readOnly || !canUseSnapshots()) return undefined;
  let opened: Promise<SnapshotStore | undefined> | undefined;
  return () => {
    opened ??= SnapshotStore.open(dir.path, {
      ...(dir.snapshotMaxBytes !== undefined ? { maxBytes: dir.snapshotMaxBytes } : {}),
    }).catch((e) => {
      debug("snapshot store unavailable: %O", e);
      return undefined;
    });
    return opened;
  };
}
