import type { HealthConfig } from "@molt/oci";
import type { Instruction } from "@molt/parser";
import type { StageRuntime } from "../stage/runtime.js";

/**
 * HEALTHCHECK: `NONE` disables an inherited check; otherwise `CMD` (exec form) or `CMD-SHELL`
 * (shell form) with the durations in nanoseconds, as docker stores them.
 */
export function applyHealthcheck(
  instr: Extract<Instruction, { kind: "HEALTHCHECK" }>,
  rt: StageRuntime,
): void {
  const cfg = (rt.state.config.config ??= {});
  let hc: HealthConfig;
  if (instr.none) hc = { Test: ["NONE"] };
  else {
    hc = { Test: instr.form === "exec" ? ["CMD", ...instr.args] : ["CMD-SHELL", instr.command] };
    if (instr.interval !== undefined) hc.Interval = instr.interval;
    if (instr.timeout !== undefined) hc.Timeout = instr.timeout;
    if (instr.startPeriod !== undefined) hc.StartPeriod = instr.startPeriod;
    if (instr.startInterval !== undefined) hc.StartInterval = instr.startInterval;
    if (instr.retries !== undefined) hc.Retries = instr.retries;
  }
  cfg.Healthcheck = hc;
  rt.addEmptyHistory(`HEALTHCHECK ${JSON.stringify(hc.Test)}`);
}
