import type { Instruction } from "@molt/parser";
import type { StageRuntime } from "../stage/runtime.js";

/** USER: the user (and group) later RUNs and the container run as (metadata only). */
export function applyUser(instr: Extract<Instruction, { kind: "USER" }>, rt: StageRuntime): void {
  const cfg = (rt.state.config.config ??= {});
  cfg.User = instr.user;
  rt.addEmptyHistory(`USER ${instr.user}`);
}
