import type { Instruction } from "@molt/parser";
import type { StageRuntime } from "../stage/runtime.js";

/**
 * ONBUILD: records the trigger in the config; it runs when a later build uses this image as its
 * base. Like BuildKit, no history entry is written for it.
 */
export function applyOnbuild(instr: Extract<Instruction, { kind: "ONBUILD" }>, rt: StageRuntime): void {
  const cfg = (rt.state.config.config ??= {});
  cfg.OnBuild = [...(cfg.OnBuild ?? []), instr.expression];
}
