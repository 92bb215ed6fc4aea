import { mkdtemp, rm } from "node:fs/promises";
import { join } from "node:path";
import { writeLayer } from "@molt/layer-writer";
import type { RootIndex } from "@molt/snapshotter";
import createDebug from "debug";
import { layerMediaType } from "../image/assemble.js";
import type { PartEventIn } from "../step-events.js";
import { layerIndexes } from "./base-index.js";
import { extractLimits } from "./extract-limits.js";
import type { StraightRuns } from "./files-only.js";
import type { ImageState, LayerRef } from "./image-state.js";
import { parentsFromRoot } from "./parent-dirs.js";
import { directoryView, indexView, type RootView } from "./root-view.js";
import type { StageRuntime } from "./runtime.js";
import type { BuildSession } from "./session.js";
import { materialiseFromSnapshots } from "./snapshot-root.js";
import { materialise, type StageFs } from "./stage-fs.js";
import { dropWritten, handOverWritten } from "./written-layers.js";

const debug = createDebug("molt:stage");

/**
 * Creates the runtime a stage's instructions run against, starting from `state`. `straight`
 * (a stage only read as files, see `stage/files-only.ts`) says which of its RUN steps run
 * straight in the root; when none of its steps diffs the root, the root gets a walk-mode
 * snapshotter (no helper process, no overlay check).
 */
export function createRuntime(
  session: BuildSession,
  stage: number,
  state: ImageState,
  initialArgs: ReadonlyMap<string, string> = new Map(),
  declared: Iterable<string> = [],
  straight?: StraightRuns,
): StageRuntime {
  const { options, store, created, sourceDateEpoch } = session;
  const signal = options.signal;
  const history = (state.config.history ??= []);
  let fs: Promise<StageFs> | undefined;
  let index: Promise<RootIndex> | undefined;
  let indexFailed = false;
  /**
   * Layers this stage wrote outside the root (COPY, ADD, WORKDIR) that the materialised root has
   * not taken yet: applied when the root is next asked for, so the last such step of a stage
   * (`COPY app /app` before the push) extracts nothing (issue 16).
   */
  let pending: LayerRef[] = [];
  /** The root with every pending layer applied, in order. */
  const upToDate = (): Promise<StageFs> | undefined => {
    if (!fs || pending.length === 0) return fs;
    const layers = pending;
    pending = [];
    const before = fs;
    fs = (async () => {
      const made = await before;
      for (const layer of layers) await made.apply(layer);
      return made;
    })();
    return fs;
  };
  /** How many times the root was materialised (a fresh directory each time). */
  let rootsMade = 0;
  /** The directory of the root made last (each materialisation gets a fresh one). */
  const rootDir = () => join(session.work, `stage-${stage}${rootsMade > 1 ? `-${rootsMade}` : ""}`);
  const events = session.events;
  /** Progress of a root materialised ahead goes, from then on, to the step that asks for it first. */
  let claimAhead: ((to: ((e: PartEventIn) => void) | undefined) => void) | undefined;
  const makeFs = async (onProgress: ((e: PartEventIn) => void) | undefined): Promise<StageFs> => {
    rootsMade++;
    const dir = rootDir();
    const from = { client: session.client, store, ...(signal ? { signal } : {}), onProgress };
    const how = {
      mode: straight?.noDiffs ? ("walk" as const) : (options.snapshotMode ?? "auto"),
      factory: options.snapshotter,
      extractor: options.extractor,
      limits: extractLimits(options),
      ...(options.ignorePaths ? { ignore: options.ignorePaths } : {}),
      onProgress,
      shared: session.roots,
    } as const;
    // With --cache-dir: from the last build's extracted root of this chain slot, when there is one
    // (not with a user's extractor, which must see every layer a root is made of).
    const snapshots =
      session.snapshots && state.layers.length > 0 && !options.extractor
        ? await session.snapshots()
        : undefined;
    const made =
      (snapshots &&
        (await materialiseFromSnapshots(dir, state.layers, from, snapshots, state.chainSlot, how))) ||
      (await materialise(dir, state.layers, from, how));
    session.filesystems.push(made);
    return made;
  };
  const rt: StageRuntime = {
    stage,
    step: 0,
    stepId: 0,
    events,
    state,
    args: new Map(initialArgs),
    declaredArgs: new Set(declared),
    keySalt: session.keySalt,
    downloads: new Map(),
    context: session.context,
    store,
    options,
    created,
    cmdSetInStage: false,
    rootNeededLater: false,
    runLater: false,
    // 1-based like `step` (FROM is 0).
    ...(straight ? { straightRunsFrom: straight.from + 1 } : {}),
    addEmptyHistory(createdBy) {
      history.push({ created, created_by: createdBy, empty_layer: true });
    },
    async addLayer(changes, createdBy, addOptions = {}) {
      const root = addOptions.inRoot && fs ? (await upToDate()!).root : undefined;
      // A layer the next root may be made from with a snapshot delta (--cache-dir, no root yet, a
      // RUN later in the stage): the writer hashes its entries for it (snapshot-root.ts planFor).
      const forDelta = !fs && !root && rt.runLater && session.snapshots !== undefined && !options.extractor;
      const result = await writeLayer(changes, store, {
        ...(session.scratchLayerStages?.has(stage)
          ? { compression: "none" as const }
          : {
              compression: options.compression ?? "gzip",
              ...(options.compressionLevel !== undefined ? { level: options.compressionLevel } : {}),
            }),
        ...(root ? { parents: parentsFromRoot(root), detectHardlinks: true } : {}),
        ...(addOptions.parents ? { parents: addOptions.parents } : {}),
        ...(addOptions.knownBytes && !root ? { knownBytes: addOptions.knownBytes } : {}),
        ...(sourceDateEpoch !== undefined ? { sourceDateEpoch } : {}),
        ...(options.subsecondMtimes ? { mtimePrecision: "nanosecond" as const } : {}),
        ...(signal ? { signal } : {}),
        ...(events.listening ? { onProgress: events.forStep(rt.stepId) } : {}),
        ...(forDelta ? { entryDigests: true } : {}),
      });
      const layer: LayerRef = {
        descriptor: {
          mediaType: layerMediaType(result.mediaType, state.format),
          digest: result.digest,
          size: result.size,
        },
        diffId: result.diffId,
        origin: { kind: "store" },
      };
      if (fs && !addOptions.inRoot) pending.push(layer);
      dropWritten(state.layers.at(-1));
      if (result.entryDigests) handOverWritten(layer, result.entryDigests);
      state.layers.push(layer);
      history.push({ created, created_by: createdBy });
      session.layerWritten?.(stage, layer);
      return layer;
    },
    async useCached({ entry, origin }) {
      if (!entry.layer || !origin) {
        history.push({ created, created_by: entry.createdBy, empty_layer: true });
        return;
      }
      const layer: LayerRef = {
        descriptor: {
          mediaType: layerMediaType(entry.layer.descriptor.mediaType, state.format),
          digest: entry.layer.descriptor.digest,
          size: entry.layer.descriptor.size,
        },
        diffId: entry.layer.diffId,
        origin,
      };
      // A root already materialised (an earlier step missed) gets the cached layer too, at once:
      // its bytes are checked as they are extracted.
      if (fs) await (await upToDate()!).apply(layer);
      state.layers.push(layer);
      history.push({ created, created_by: entry.createdBy });
    },
    async discardFilesystem() {
      const current = fs;
      // The root's directory is named now: another root of this stage may be made during the
      // awaits below, and its name (`rootsMade`) must not be the one removed.
      const dir = rootDir();
      fs = undefined;
      pending = [];
      // The layer index describes layers the stage may no longer have.
      index = undefined;
      if (!current) return;
      const made = await current.catch(() => undefined);
      if (made) {
        const i = session.filesystems.indexOf(made);
        if (i >= 0) session.filesystems.splice(i, 1);
        await made.close().catch(() => {});
      }
      await rm(dir, { recursive: true, force: true }).catch(() => {});
    },
    filesystem(forStep) {
      // Downloads and extraction belong to the step that first needs the root (a step of
      // another stage when it is a COPY --from this one's files), also when they began ahead.
      if (fs && claimAhead) {
        claimAhead(events.forStep(forStep ?? rt.stepId));
        claimAhead = undefined;
      }
      fs ??= makeFs(events.forStep(forStep ?? rt.stepId));
      return upToDate()!;
    },
    materialiseAhead() {
      if (fs || state.layers.length === 0) return;
      const held: PartEventIn[] = [];
      let sink: ((e: PartEventIn) => void) | undefined;
      let claimed = false;
      claimAhead = (to) => {
        claimed = true;
        sink = to;
        for (const e of held.splice(0)) to?.(e);
      };
      fs = makeFs((e) => {
        if (claimed) sink?.(e);
        else held.push(e);
      });
      fs.catch(() => {});
    },
    async rootView(): Promise<RootView | undefined> {
      if (state.layers.length === 0) return undefined;
      const materialised = async () => directoryView((await rt.filesystem()).root);
      if (options.baseIndex === false || fs || rt.rootNeededLater || indexFailed) return materialised();
      // The index grows with the image: the layers added since it was last asked are merged in.
      const step = rt.stepId;
      const prev = index;
      index = (async () => layerIndexes(session).merge(state.layers, step, prev ? await prev : undefined))();
      try {
        return indexView(await index, materialised);
      } catch (e) {
        if (signal?.aborted) throw e;
        // Extraction reports what is wrong with a layer (or copes with it): never guess.
        debug("layer index failed, extracting the root instead: %O", e);
        indexFailed = true;
        return materialised();
      }
    },
    runner: () => session.runner(),
    runnerAhead: () => session.runnerAhead?.(),
    ...(session.confirmCached
      ? { confirmCached: (layer: LayerRef) => session.confirmCached!(stage, layer) }
      : {}),
    fromSource: (ref, location) => session.fromSource(ref, stage, location, rt.stepId),
    fromKey: (ref, location) => session.fromKey(ref, stage, location),
    scratchDir: (name) => mkdtemp(join(session.work, `${name}-`)),
  };
  return rt;
}
