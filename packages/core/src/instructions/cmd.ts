import type { Instruction } from "@molt/parser";
import type { StageRuntime } from "../stage/runtime.js";
import { commandArgv } from "./command-line.js";

/** CMD: the default command (metadata only). */
export function applyCmd(instr: Extract<Instruction, { kind: "CMD" }>, rt: StageRuntime): void {
  const cfg = (rt.state.config.config ??= {});
  cfg.Cmd = commandArgv(instr, cfg.Shell);
  if (instr.form === "shell") cfg.ArgsEscaped = true;
  rt.addEmptyHistory(`CMD ${JSON.stringify(cfg.Cmd)}`);
  rt.cmdSetInStage = true;
}
