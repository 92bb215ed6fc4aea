import type { Instruction } from "@molt/parser";
import { expandInstruction } from "@molt/parser";
import createDebug from "debug";
import { corruptLayerOf } from "../cache/corrupt-layer.js";
import { freshDigest } from "../cache/fresh-digest.js";
import { instructionDigest, type KeyInput, slotOf, stepKey } from "../cache/key.js";
import type { CacheEntry } from "../cache/layer-cache.js";
import type { StepCache } from "../cache/step-cache.js";
import { throwIfAborted } from "../errors.js";
import type { StepId } from "../events.js";
import { stepFor } from "../instructions/index.js";
import type { StageRuntime } from "./runtime.js";
import { lookupIn } from "./runtime.js";
import { oneLine, stepName } from "./step-name.js";
import {
  type ArgDefaults,
  argKey,
  declareArgs,
  instructionText,
  type PlannedKey,
  planStageKeys,
  planViewOf,
} from "./step-plan.js";
import { restoreStep, type StepSnapshot, snapshotStep } from "./step-rewind.js";
import {
  describeUnusable,
  firstUnusableLayer,
  layerPresent,
  missingTakenLayer,
  type TakenLayer,
  type UnusableLayer,
} from "./taken-layers.js";

const debug = createDebug("molt:stage");

/** What happened to one step: its key, and whether it came from the cache (and why not). */
export interface StepReport {
  stage: number;
  /** 1-based index within the stage. */
  step: number;
  /** The instruction as written. */
  instruction: string;
  /** The step's chained cache key (`sha256:…`); computed only when a cache or `--dryrun` is in use. */
  key?: string;
  /** Whether the step's result can be cached at all (file-changing steps). */
  cacheable: boolean;
  /** True when taken from the cache (for `--dryrun`: would be). */
  cached: boolean;
  /** Why a cacheable step was not taken from the cache. */
  reason?: string;
}

export type { ArgDefaults } from "./step-plan.js";

/**
 * Runs a stage's instructions in order. Each is expanded with the variables in scope at that
 * point (ENV over ARG); ARG declarations update the scope here. With a cache, every step gets a
 * chained key from its plan face (parent key, expanded instruction, its inputs) before anything
 * runs; a cacheable step whose key is in the cache takes its layer by descriptor, anything else
 * is applied (materialising the root only then) and written to the cache.
 */
export async function runStage(
  instructions: readonly Instruction[],
  rt: StageRuntime,
  argDefaults: ArgDefaults,
  cache: StepCache | undefined,
  mode: {
    dryRun: boolean;
    stageName?: string | undefined;
    /** Steps are named `[name 2/4] …` (multi-stage builds) rather than `[2/4] …`. */
    multiStage?: boolean;
    /** Awaited after the keys are planned and probing started, before the first step runs. */
    ready?: Promise<unknown> | undefined;
    /** Whether `--from=<ref>` is keyed without waiting for a stage (see {@link planStageKeys}). */
    fromReady?: (ref: string) => boolean;
  } = { dryRun: false },
): Promise<StepReport[]> {
  const reports: StepReport[] = [];
  const keyed = cache !== undefined || mode.dryRun;
  const view = planViewOf(rt);
  // Keys first (they do not depend on execution), then every probe at once, a few in flight.
  const planned = new Map<number, PlannedKey>();
  const stageId = { index: rt.stage, name: mode.stageName };
  /** Plans the keys from step `from` on (where the last plan stopped) and starts probing them. */
  const plan = async (from: number) => {
    if (!cache) return;
    const more = await planStageKeys(instructions, rt, argDefaults, {
      from,
      ...(mode.fromReady ? { fromReady: mode.fromReady } : {}),
    });
    for (const [i, p] of more) planned.set(i, p);
    cache.prefetch(
      [...more.values()]
        .filter((p) => p.handler && cache.use(p.handler.cache, stageId) === "probe")
        .map((p) => p.key),
    );
  };
  await plan(0);
  await mode.ready;
  let step: number;
  // BuildKit's numbering: FROM is step 1 of the stage.
  const of = instructions.length + 1;
  // Cached layers taken so far, by digest: the step (0-based) and key that took each.
  const taken = new Map<string, TakenLayer>();
  const snapshots: StepSnapshot[] = [];
  let rewinds = 0;
  /**
   * Puts the stage back to before the step that took a cached layer whose bytes failed
   * verification or whose blob is gone from its store.
   */
  const rewindTo = (r: UnusableLayer): number => {
    rewinds++;
    const at = r.index;
    const { warning: message, reason } = describeUnusable(
      r,
      oneLine(instructions[at]!.original),
      cache!.cache.description,
    );
    cache!.poison(r.key, reason);
    if (r.why === "bad" && taken.get(r.digest)?.registry) cache!.markKeptBad(r.digest);
    rt.events.emit({ type: "molt:build:warning", message });
    restoreStep(rt, snapshots[at]!);
    reports.length = snapshots[at]!.reports;
    for (const [d, t] of taken) if (t.index >= at) taken.delete(d);
    return at;
  };
  let start = 0;
  for (;;) {
    for (let i = start; i < instructions.length; i++) {
      const raw = instructions[i]!;
      step = i + 1;
      rt.step = step;
      snapshots[i] = snapshotStep(rt, reports.length);
      // Planning stopped before this step (a stage it waited for is done now, or an ADD URL was
      // fetched): plan the rest from here.
      if (cache && i > 0 && !planned.has(i)) await plan(i);
      throwIfAborted(rt.options.signal);
      const info = {
        kind: "instruction" as const,
        name: stepName(
          { index: rt.stage, name: mode.stageName },
          mode.multiStage ?? false,
          step + 1,
          of,
          raw.original,
        ),
        stage: rt.stage,
        ...(mode.stageName ? { stageName: mode.stageName } : {}),
        index: step + 1,
        of,
        instruction: oneLine(raw.original),
        location: { file: raw.location.file, line: raw.location.line, column: raw.location.column },
      };
      const runOne = async (id: StepId): Promise<void> => {
        rt.stepId = id;
        debug("stage %d step %d (#%d): %s", rt.stage, step, id, raw.original);
        const state = rt.state;
        const parent: KeyInput = {
          name: "parent",
          digest: state.chainKey,
          display: step === 1 ? state.chainBase : `step ${step - 1}`,
        };
        const slot = slotOf(state.chainSlot, raw.original);
        const instr = expandInstruction(raw, lookupIn(rt));
        if (instr.kind === "ARG") {
          declareArgs(instr, rt, argDefaults);
          // In the chain by name only: values reach the keys of the RUNs that see them.
          if (keyed) {
            state.chainKey = argKey(parent, instr);
            state.chainSlot = slot;
          }
          // As written in the Dockerfile: build-arg values (which may be secrets) never reach history.
          rt.addEmptyHistory(raw.original);
          reports.push({ stage: rt.stage, step, instruction: raw.original, cacheable: false, cached: false });
          return;
        }
        const handler = stepFor(instr);
        handler.configure?.(instr, rt);
        // A later RUN that no cache can skip materialises the root anyway: COPY then uses it too.
        rt.runLater = instructions.slice(step).some((i) => i.kind === "RUN");
        rt.rootNeededLater =
          rt.runLater && (cache?.use("run", { index: rt.stage, name: mode.stageName }) ?? "off") !== "probe";
        const report: StepReport = {
          stage: rt.stage,
          step,
          instruction: raw.original,
          cacheable: handler.cache !== undefined,
          cached: false,
        };
        reports.push(report);
        if (!keyed) {
          await handler.apply(instr, rt);
          return;
        }
        // The expanded text is in the key by digest only: an expanded build-arg value is never readable.
        const instruction = instructionDigest(instructionText(instr), rt.keySalt);
        // The planned inputs, when the plan saw this step as it is now (it always should).
        const plan = planned.get(step - 1);
        const own =
          plan && plan.parent === state.chainKey && plan.instruction === instruction
            ? plan.own
            : ((await handler.inputs?.(instr, view)) ?? []);
        const inputs: KeyInput[] = [
          parent,
          { name: "instruction", digest: instruction, display: raw.original },
          ...own,
        ];
        const key = stepKey(inputs);
        report.key = key;
        const use = cache?.use(handler.cache, { index: rt.stage, name: mode.stageName }) ?? "off";
        if (use === "probe") {
          let hit = await cache!.lookup(key);
          // A dry run checks no layer at a stage's end: what it says would hit has its blob.
          if (hit && mode.dryRun && !(await layerPresent(hit, rt.options.signal))) {
            cache!.poison(key, `its cached layer ${hit.entry.layer!.descriptor.digest} is missing`);
            hit = undefined;
          }
          if (hit) {
            report.cached = true;
            rt.events.emit({
              type: "molt:step:cache",
              step: rt.stepId,
              key,
              hit: true,
              store: cache!.cache.description,
            });
            // Recorded before the layer is applied: a root already materialised applies it at
            // once, and bytes that fail there rewind to this step.
            const took: TakenLayer | undefined = hit.entry.layer
              ? {
                  index: i,
                  key,
                  ...(hit.verify ? { verify: hit.verify } : {}),
                  ...(hit.present ? { present: hit.present } : {}),
                  ...(hit.origin?.kind === "registry" ? { registry: true } : {}),
                }
              : undefined;
            if (took) taken.set(hit.entry.layer!.descriptor.digest, took);
            const layersBefore = state.layers.length;
            if (!mode.dryRun) await rt.useCached(hit);
            if (took && state.layers.length > layersBefore) took.layer = state.layers.at(-1);
            state.chainKey = key;
            state.chainSlot = slot;
            return;
          }
          report.reason = cache!.poisoned(key) ?? (await cache!.explain(slot, inputs, instr.kind));
        } else if (handler.cache !== undefined) {
          report.reason = !cache
            ? "no cache configured"
            : use === "write"
              ? "rebuilt on request (--no-cache / --no-cache-filter)"
              : `not cached (--cache-${handler.cache === "run" ? "run" : "copy"}-layers=false)`;
        }
        if (handler.cache !== undefined)
          rt.events.emit({
            type: "molt:step:cache",
            step: rt.stepId,
            key,
            hit: false,
            reason: report.reason ?? "no entry in cache",
            ...(cache ? { store: cache.cache.description } : {}),
          });
        // A step missed: a RUN later in the stage, whose key chains on this one's, most likely
        // runs too, so the runner's host probes (child processes: ~50-100 ms of waiting at that
        // RUN in a warm 20,000-file rebuild) start now, beside this step's work. A RUN that hits
        // after all leaves them unused.
        if (!mode.dryRun && rt.runLater && instr.kind !== "RUN") rt.runnerAhead();
        if (mode.dryRun && handler.cache !== undefined) {
          state.chainKey = key;
          state.chainSlot = slot;
          return;
        }
        const layersBefore = state.layers.length;
        const history = (state.config.history ??= []);
        const historyBefore = history.length;
        await handler.apply(instr, rt);
        state.chainKey = key;
        state.chainSlot = slot;
        if (use === "off" || !cache) return;
        const added = state.layers.slice(layersBefore);
        const written = history.slice(historyBefore);
        let layer = added[0];
        // Rebuilt with the digest of bytes a registry keeps bad: the same layer under another
        // digest, so neither the image nor the new cache entry names the bad blob.
        if (layer && layer.origin.kind === "store" && cache.keptBad(layer.descriptor.digest)) {
          const fresh = await freshDigest(rt.store, layer);
          if (fresh) {
            debug("layer %s is bad in a registry: now %s", layer.descriptor.digest, fresh.descriptor.digest);
            state.layers[layersBefore] = fresh;
            added[0] = fresh;
            layer = fresh;
          }
        }
        // Only a shape an entry describes: one history entry, at most one layer, and its bytes at hand.
        if (added.length > 1 || written.length !== 1 || (layer && layer.origin.kind !== "store")) return;
        const entry: CacheEntry = {
          key,
          slot,
          step: raw.original,
          createdBy: written[0]!.created_by ?? raw.original,
          inputs,
          created: new Date().toISOString(),
          ...(layer ? { layer: { descriptor: { ...layer.descriptor }, diffId: layer.diffId } } : {}),
        };
        cache.record(
          entry,
          layer ? () => Promise.resolve(rt.store.openRead(layer.descriptor.digest)) : undefined,
        );
      };
      // A cached layer whose bytes fail verification when the root is materialised (or a cached
      // layer is applied to it) is a miss: warn, and run the stage again from the step that took it.
      let rewind: UnusableLayer | undefined;
      await rt.events.run(info, async (id) => {
        try {
          await runOne(id);
        } catch (e) {
          if (!cache || rewinds >= instructions.length || rt.options.signal?.aborted) throw e;
          const digest = corruptLayerOf(e);
          const by = digest !== undefined ? taken.get(digest) : undefined;
          rewind = by
            ? { index: by.index, key: by.key, digest: digest!, why: "bad" }
            : await missingTakenLayer(e, taken, rt.options.signal);
          if (!rewind) throw e;
        }
      });
      if (rewind && cache) {
        const at = rewindTo(rewind);
        await rt.discardFilesystem();
        i = at - 1;
      }
    }
    // The stage is done. Cached layers it took whose bytes it never read (every step hit: the
    // image is descriptors) are checked, before anything (a destination, a COPY --from)
    // references them: their bytes where the store can do so cheaply, else that their blobs are
    // still there (by the push's own mount into the destinations where it stands in); one that
    // fails is a miss like any other.
    const bad =
      cache && !mode.dryRun
        ? await firstUnusableLayer(taken, cache, rt.confirmCached, rt.options.signal)
        : undefined;
    if (!bad || rewinds >= instructions.length) break;
    start = rewindTo(bad);
    await rt.discardFilesystem();
  }
  return reports;
}
