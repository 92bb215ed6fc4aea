import type { Instruction } from "@molt/parser";
import { InvalidSignalError } from "../errors.js";
import type { StageRuntime } from "../stage/runtime.js";

const SIGNAL = /^(?:SIG[A-Z0-9+-]+|[A-Z][A-Z0-9+-]*|\d+)$/;

/** STOPSIGNAL: the signal that stops the container (`SIGTERM`, `9`, `SIGRTMIN+3`). */
export function applyStopsignal(instr: Extract<Instruction, { kind: "STOPSIGNAL" }>, rt: StageRuntime): void {
  if (!SIGNAL.test(instr.signal)) {
    throw new InvalidSignalError(`STOPSIGNAL: invalid signal "${instr.signal}"`, instr.location);
  }
  const cfg = (rt.state.config.config ??= {});
  cfg.StopSignal = instr.signal;
  rt.addEmptyHistory(`STOPSIGNAL ${instr.signal}`);
}
