import type { Instruction } from "@molt/parser";
import type { StageRuntime } from "../stage/runtime.js";

/** MAINTAINER (deprecated): sets the image's `author`. */
export function applyMaintainer(instr: Extract<Instruction, { kind: "MAINTAINER" }>, rt: StageRuntime): void {
  rt.state.config.author = instr.name;
  rt.addEmptyHistory(`MAINTAINER ${instr.name}`);
}
