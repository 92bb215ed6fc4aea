import type { Instruction } from "@molt/parser";
import type { StageRuntime } from "../stage/runtime.js";

/** SHELL: the shell later shell-form RUN/CMD/ENTRYPOINT use (metadata only). */
export function applyShell(instr: Extract<Instruction, { kind: "SHELL" }>, rt: StageRuntime): void {
  const cfg = (rt.state.config.config ??= {});
  cfg.Shell = [...instr.args];
  rt.addEmptyHistory(`SHELL ${JSON.stringify(cfg.Shell)}`);
}
