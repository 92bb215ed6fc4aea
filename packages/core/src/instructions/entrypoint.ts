import type { Instruction } from "@molt/parser";
import type { StageRuntime } from "../stage/runtime.js";
import { commandArgv } from "./command-line.js";

/**
 * ENTRYPOINT (metadata only). As docker does, a CMD inherited from the base image is cleared
 * when the stage sets an ENTRYPOINT, unless the stage itself set CMD.
 */
export function applyEntrypoint(instr: Extract<Instruction, { kind: "ENTRYPOINT" }>, rt: StageRuntime): void {
  const cfg = (rt.state.config.config ??= {});
  cfg.Entrypoint = commandArgv(instr, cfg.Shell);
  if (instr.form === "shell") cfg.ArgsEscaped = true;
  if (!rt.cmdSetInStage) cfg.Cmd = null;
  rt.addEmptyHistory(`ENTRYPOINT ${JSON.stringify(cfg.Entrypoint)}`);
}
