import type { Instruction } from "@molt/parser";
import { expandInstruction } from "@molt/parser";
import createDebug from "debug";
import { throwIfAborted } from "../errors.js";
import { applyInstruction } from "../instructions/index.js";
import type { StageRuntime } from "./runtime.js";
import { lookupIn } from "./runtime.js";

const debug = createDebug("molt:stage");

/**
 * Runs a stage's instructions in order: each is expanded with the variables in scope at that
 * point (ENV over ARG), then applied. ARG declarations update the scope here.
 */
export async function runStage(
  instructions: readonly Instruction[],
  rt: StageRuntime,
  argDefaults: {
    buildArgs: Record<string, string>;
    metaArgs: Map<string, string>;
    /** TARGETPLATFORM and friends: the value an `ARG TARGETARCH` without default takes. */
    predefined: Record<string, string>;
  },
): Promise<void> {
  let step = 0;
  for (const raw of instructions) {
    step++;
    rt.step = step;
    throwIfAborted(rt.options.signal);
    rt.options.onProgress?.({
      type: "step",
      stage: rt.stage,
      step,
      of: instructions.length,
      instruction: raw.original,
    });
    debug("stage %d step %d: %s", rt.stage, step, raw.original);
    const instr = expandInstruction(raw, lookupIn(rt));
    if (instr.kind === "ARG") {
      for (const a of instr.args) {
        const value = Object.hasOwn(argDefaults.buildArgs, a.key)
          ? argDefaults.buildArgs[a.key]
          : (a.default ?? argDefaults.metaArgs.get(a.key) ?? argDefaults.predefined[a.key]);
        if (value !== undefined) rt.args.set(a.key, value);
      }
      // As written in the Dockerfile: build-arg values (which may be secrets) never reach history.
      rt.addEmptyHistory(raw.original);
      continue;
    }
    await applyInstruction(instr, rt);
  }
}
