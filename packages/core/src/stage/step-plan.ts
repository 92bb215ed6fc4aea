import type { Digest } from "@molt/oci";
import type { Instruction } from "@molt/parser";
import { expandInstruction } from "@molt/parser";
import createDebug from "debug";
import { instructionDigest, type KeyInput, shownInput, stepKey } from "../cache/key.js";
import { downloadOnce } from "../instructions/add.js";
import { type PlanView, stepFor } from "../instructions/index.js";
import type { InstructionStep } from "../instructions/step.js";
import { cloneState } from "./image-state.js";
import type { StageRuntime } from "./runtime.js";
import { lookupIn } from "./runtime.js";

const debug = createDebug("molt:stage");

/** ARG values a stage resolves declarations against. */
export interface ArgDefaults {
  buildArgs: Record<string, string>;
  metaArgs: Map<string, string>;
  /** TARGETPLATFORM and friends: the value an `ARG TARGETARCH` without default takes. */
  predefined: Record<string, string>;
}

/** One step's key, computed before anything runs. */
export interface PlannedKey {
  /** The key the step's chain starts from (the previous step's key). */
  parent: Digest;
  /** Digest of the expanded instruction (see {@link instructionText}). */
  instruction: Digest;
  /** The step's own inputs (what its handler's `inputs` gave), after `parent` and `instruction`. */
  own: KeyInput[];
  key: Digest;
  /** The step's handler (undefined for ARG). */
  handler?: InstructionStep;
}

/** The expanded instruction as key text: everything but where it was written. */
export function instructionText(instr: Instruction): string {
  const {
    location: _l,
    original: _o,
    ...rest
  } = instr as Instruction & { location: unknown; original: unknown };
  return JSON.stringify(rest, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v));
}

/** Applies an ARG declaration to a scope: build arg, else default, else meta ARG, else predefined. */
export function declareArgs(
  instr: Extract<Instruction, { kind: "ARG" }>,
  scope: Pick<StageRuntime, "args" | "declaredArgs">,
  defaults: ArgDefaults,
): void {
  for (const a of instr.args) {
    const value = Object.hasOwn(defaults.buildArgs, a.key)
      ? defaults.buildArgs[a.key]
      : (a.default ?? defaults.metaArgs.get(a.key) ?? defaults.predefined[a.key]);
    if (value !== undefined) scope.args.set(a.key, value);
    scope.declaredArgs.add(a.key);
  }
}

/** The key of an ARG step: in the chain by name only (values reach the RUNs that see them). */
export function argKey(parent: KeyInput, instr: Extract<Instruction, { kind: "ARG" }>): Digest {
  return stepKey([parent, shownInput("arg", instr.args.map((a) => a.key).join(" "))]);
}

/** What an instruction's plan face may read of a runtime (never its root filesystem). */
export function planViewOf(rt: StageRuntime, urlDigest?: PlanView["urlDigest"]): PlanView {
  return {
    stage: rt.stage,
    state: rt.state,
    args: rt.args,
    declaredArgs: rt.declaredArgs,
    salt: rt.keySalt,
    context: rt.context,
    options: rt.options,
    fromInput: async (ref, location) => {
      const { digest, display } = await rt.fromKey(ref, location);
      return { name: `from:${ref}`, digest, display };
    },
    urlDigest:
      urlDigest ?? (async (url, location) => (await downloadOnce(url, undefined, rt, location)).digest),
  };
}

/** Thrown by the planning view where a key needs work that belongs to the step itself. */
class StopPlanning extends Error {}

/**
 * Every step's cache key, computed ahead of the execution on a copy of the stage's state (the
 * config effects of metadata steps and WORKDIR are applied to the copy; nothing touches the root
 * filesystem, writes history, or runs). Keys do not depend on whether earlier steps hit, so they
 * can all be probed at once. Planning stops (leaving later steps to be keyed as they run) at the
 * first step it cannot key without side effects: an ADD URL without `--checksum` (its digest is a
 * download), an unknown instruction, or any error (which the step then reports in place).
 * Returns the planned keys by 0-based step index.
 */
export async function planStageKeys(
  instructions: readonly Instruction[],
  rt: StageRuntime,
  argDefaults: ArgDefaults,
  options: {
    /** The 0-based step to start at (the stage's state is the one before it). */
    from?: number;
    /**
     * Whether `--from=<ref>` can be keyed without waiting: an image, or a stage already
     * finished. Planning stops at a step that would wait for a stage (the step itself waits, and
     * gives up its job meanwhile; the plan, running beside the stage's steps, must not).
     */
    fromReady?: (ref: string) => boolean;
  } = {},
): Promise<Map<number, PlannedKey>> {
  const planned = new Map<number, PlannedKey>();
  const state = cloneState(rt.state);
  const shadow: StageRuntime = {
    ...rt,
    state,
    args: new Map(rt.args),
    declaredArgs: new Set(rt.declaredArgs),
    addEmptyHistory: () => {},
  };
  const view: PlanView = {
    ...planViewOf(shadow, () => Promise.reject(new StopPlanning())),
    fromInput: async (ref, location) => {
      if (options.fromReady && !options.fromReady(ref)) throw new StopPlanning();
      const { digest, display } = await rt.fromKey(ref, location);
      return { name: `from:${ref}`, digest, display };
    },
  };
  for (let i = options.from ?? 0; i < instructions.length; i++) {
    const raw = instructions[i]!;
    try {
      const parent: Digest = state.chainKey;
      const parentInput: KeyInput = { name: "parent", digest: parent };
      const instr = expandInstruction(raw, lookupIn(shadow));
      if (instr.kind === "ARG") {
        declareArgs(instr, shadow, argDefaults);
        const key = argKey(parentInput, instr);
        planned.set(i, {
          parent,
          instruction: instructionDigest(instructionText(instr), rt.keySalt),
          own: [],
          key,
        });
        state.chainKey = key;
        continue;
      }
      const handler = stepFor(instr);
      // A file-changing step the cache cannot stand in for would need its work done here.
      if (handler.changesFiles && handler.cache === undefined) break;
      handler.configure?.(instr, shadow);
      const instruction = instructionDigest(instructionText(instr), rt.keySalt);
      const own = (await handler.inputs?.(instr, view)) ?? [];
      const key = stepKey([parentInput, { name: "instruction", digest: instruction }, ...own]);
      planned.set(i, { parent, instruction, own, key, handler });
      if (!handler.changesFiles) await handler.apply(instr, shadow);
      state.chainKey = key;
    } catch (e) {
      if (!(e instanceof StopPlanning))
        debug("planning keys of stage %d stopped at step %d: %s", rt.stage, i + 1, e);
      break;
    }
  }
  return planned;
}
