import type { Instruction } from "@molt/parser";
import { UnsupportedInstructionError } from "../errors.js";
import type { StageRuntime } from "../stage/runtime.js";
import { addStep } from "./add.js";
import { applyCmd } from "./cmd.js";
import { copyStep } from "./copy.js";
import { applyEntrypoint } from "./entrypoint.js";
import { applyEnv } from "./env.js";
import { applyExpose } from "./expose.js";
import { applyHealthcheck } from "./healthcheck.js";
import { applyLabel } from "./label.js";
import { applyMaintainer } from "./maintainer.js";
import { applyOnbuild } from "./onbuild.js";
import { runStep } from "./run.js";
import { applyShell } from "./shell.js";
import { type InstructionStep, metadataStep } from "./step.js";
import { applyStopsignal } from "./stopsignal.js";
import { applyUser } from "./user.js";
import { applyVolume } from "./volume.js";
import { workdirStep } from "./workdir.js";

export type { CacheClass, InstructionStep, PlanView } from "./step.js";

type AnyStep = InstructionStep<never>;

/** Instruction kind → step. Kinds absent here fail with a clear "not supported yet" error. */
const STEPS: Partial<Record<Instruction["kind"], AnyStep>> = {
  ENV: metadataStep(applyEnv),
  LABEL: metadataStep(applyLabel),
  CMD: metadataStep(applyCmd),
  ENTRYPOINT: metadataStep(applyEntrypoint),
  EXPOSE: metadataStep(applyExpose),
  USER: metadataStep(applyUser),
  WORKDIR: workdirStep,
  COPY: copyStep,
  ADD: addStep,
  RUN: runStep,
  SHELL: metadataStep(applyShell),
  VOLUME: metadataStep(applyVolume),
  STOPSIGNAL: metadataStep(applyStopsignal),
  HEALTHCHECK: metadataStep(applyHealthcheck),
  ONBUILD: metadataStep(applyOnbuild),
  MAINTAINER: metadataStep(applyMaintainer),
};

/** The step for an (already expanded) instruction. ARG is handled by the stage runner. */
export function stepFor(instr: Instruction): InstructionStep {
  const step = STEPS[instr.kind] as InstructionStep | undefined;
  if (!step) {
    throw new UnsupportedInstructionError(
      `${instr.kind} is not supported by this build of molt yet`,
      instr.location,
    );
  }
  return step;
}

/** Runs one (already expanded) instruction against the stage, uncached. */
export async function applyInstruction(instr: Instruction, rt: StageRuntime): Promise<void> {
  const step = stepFor(instr);
  step.configure?.(instr, rt);
  await step.apply(instr, rt);
}
