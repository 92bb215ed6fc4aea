import type { Instruction } from "@molt/parser";
import { setEnv } from "../stage/env.js";
import type { StageRuntime } from "../stage/runtime.js";

/** ENV: sets variables in the image config (metadata only). */
export function applyEnv(instr: Extract<Instruction, { kind: "ENV" }>, rt: StageRuntime): void {
  const cfg = (rt.state.config.config ??= {});
  for (const { key, value } of instr.pairs) setEnv(cfg, key, value);
  rt.addEmptyHistory(`ENV ${instr.pairs.map((p) => `${p.key}=${p.value}`).join(" ")}`);
}
