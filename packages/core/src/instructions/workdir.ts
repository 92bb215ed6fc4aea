import type { Instruction } from "@molt/parser";
import { resolveContainerPath } from "../stage/paths.js";
import type { StageRuntime } from "../stage/runtime.js";

/** WORKDIR: sets the working directory, relative paths against the previous one. */
export function applyWorkdir(instr: Extract<Instruction, { kind: "WORKDIR" }>, rt: StageRuntime): void {
  const cfg = (rt.state.config.config ??= {});
  cfg.WorkingDir = resolveContainerPath(cfg.WorkingDir, instr.path);
  rt.addEmptyHistory(`WORKDIR ${cfg.WorkingDir}`);
}
