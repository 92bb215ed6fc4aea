import type { Instruction } from "@molt/parser";
import { expandInstruction } from "@molt/parser";
import createDebug from "debug";
import { digestOf, type KeyInput, shownInput, slotOf, stepKey } from "../cache/key.js";
import type { CacheEntry } from "../cache/layer-cache.js";
import type { StepCache } from "../cache/step-cache.js";
import { throwIfAborted } from "../errors.js";
import { downloadOnce } from "../instructions/add.js";
import { type PlanView, stepFor } from "../instructions/index.js";
import type { StageRuntime } from "./runtime.js";
import { lookupIn } from "./runtime.js";
import { oneLine, stepName } from "./step-name.js";

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

/** ARG values a stage resolves declarations against. */
export interface ArgDefaults {
  buildArgs: Record<string, string>;
  metaArgs: Map<string, string>;
  /** TARGETPLATFORM and friends: the value an `ARG TARGETARCH` without default takes. */
  predefined: Record<string, string>;
}

/** The expanded instruction as key text: everything but where it was written. */
function instructionText(instr: Instruction): string {
  const {
    location: _l,
    original: _o,
    ...rest
  } = instr as Instruction & { location: unknown; original: unknown };
  return JSON.stringify(rest, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v));
}

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
  } = { dryRun: false },
): Promise<StepReport[]> {
  const reports: StepReport[] = [];
  const keyed = cache !== undefined || mode.dryRun;
  const view: PlanView = {
    stage: rt.stage,
    state: rt.state,
    args: rt.args,
    declaredArgs: rt.declaredArgs,
    context: rt.context,
    options: rt.options,
    fromInput: async (ref, location) => {
      const { digest, display } = await rt.fromKey(ref, location);
      return { name: `from:${ref}`, digest, display };
    },
    urlDigest: async (url, location) => (await downloadOnce(url, undefined, rt, location)).digest,
  };
  let step = 0;
  // BuildKit's numbering: FROM is step 1 of the stage.
  const of = instructions.length + 1;
  for (const raw of instructions) {
    step++;
    rt.step = step;
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
    await rt.events.run(info, async (id) => {
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
        for (const a of instr.args) {
          const value = Object.hasOwn(argDefaults.buildArgs, a.key)
            ? argDefaults.buildArgs[a.key]
            : (a.default ?? argDefaults.metaArgs.get(a.key) ?? argDefaults.predefined[a.key]);
          if (value !== undefined) rt.args.set(a.key, value);
          rt.declaredArgs.add(a.key);
        }
        // In the chain by name only: values reach the keys of the RUNs that see them.
        if (keyed) {
          state.chainKey = stepKey([parent, shownInput("arg", instr.args.map((a) => a.key).join(" "))]);
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
      rt.rootNeededLater =
        instructions.slice(step).some((i) => i.kind === "RUN") &&
        (cache?.use("run", { index: rt.stage, name: mode.stageName }) ?? "off") !== "probe";
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
      const inputs: KeyInput[] = [
        parent,
        { name: "instruction", digest: digestOf(instructionText(instr)), display: raw.original },
        ...((await handler.inputs?.(instr, view)) ?? []),
      ];
      const key = stepKey(inputs);
      report.key = key;
      const use = cache?.use(handler.cache, { index: rt.stage, name: mode.stageName }) ?? "off";
      if (use === "probe") {
        const hit = await cache!.lookup(key);
        if (hit) {
          report.cached = true;
          rt.events.emit({
            type: "molt:step:cache",
            step: rt.stepId,
            key,
            hit: true,
            store: cache!.cache.description,
          });
          if (!mode.dryRun) await rt.useCached(hit);
          state.chainKey = key;
          state.chainSlot = slot;
          return;
        }
        report.reason = await cache!.explain(slot, inputs, instr.kind);
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
      const layer = added[0];
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
    });
  }
  return reports;
}
