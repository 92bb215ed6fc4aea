import type { Instruction } from "@molt/parser";
import type { StageRuntime } from "../stage/runtime.js";

/**
 * VOLUME: records mount points in the config as written (metadata only). As BuildKit does, later
 * steps may still change files under a volume path and those changes are kept.
 */
export function applyVolume(instr: Extract<Instruction, { kind: "VOLUME" }>, rt: StageRuntime): void {
  const cfg = (rt.state.config.config ??= {});
  const volumes = (cfg.Volumes ??= {});
  for (const p of instr.paths) volumes[p] = {};
  rt.addEmptyHistory(`VOLUME ${JSON.stringify(instr.paths)}`);
}
