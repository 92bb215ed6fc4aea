import type { Instruction } from "@molt/parser";
import type { StageRuntime } from "../stage/runtime.js";

/** LABEL: adds labels to the image config (metadata only). */
export function applyLabel(instr: Extract<Instruction, { kind: "LABEL" }>, rt: StageRuntime): void {
  const cfg = (rt.state.config.config ??= {});
  const labels = (cfg.Labels ??= {});
  for (const { key, value } of instr.pairs) labels[key] = value;
  rt.addEmptyHistory(`LABEL ${instr.pairs.map((p) => `${p.key}=${p.value}`).join(" ")}`);
}
