import type { Instruction } from "@molt/parser";
import { BuildStepError } from "../errors.js";
import type { StageRuntime } from "../stage/runtime.js";
import { applyAdd } from "./add.js";
import { applyCmd } from "./cmd.js";
import { applyCopy } from "./copy.js";
import { applyEntrypoint } from "./entrypoint.js";
import { applyEnv } from "./env.js";
import { applyExpose } from "./expose.js";
import { applyHealthcheck } from "./healthcheck.js";
import { applyLabel } from "./label.js";
import { applyMaintainer } from "./maintainer.js";
import { applyOnbuild } from "./onbuild.js";
import { applyRun } from "./run.js";
import { applyShell } from "./shell.js";
import { applyStopsignal } from "./stopsignal.js";
import { applyUser } from "./user.js";
import { applyVolume } from "./volume.js";
import { applyWorkdir } from "./workdir.js";

type Handler = (instr: never, rt: StageRuntime) => void | Promise<void>;

/** Instruction kind → handler. Kinds absent here fail with a clear "not supported yet" error. */
const HANDLERS: Partial<Record<Instruction["kind"], Handler>> = {
  ENV: applyEnv,
  LABEL: applyLabel,
  CMD: applyCmd,
  ENTRYPOINT: applyEntrypoint,
  EXPOSE: applyExpose,
  USER: applyUser,
  WORKDIR: applyWorkdir,
  COPY: applyCopy,
  ADD: applyAdd,
  RUN: applyRun,
  SHELL: applyShell,
  VOLUME: applyVolume,
  STOPSIGNAL: applyStopsignal,
  HEALTHCHECK: applyHealthcheck,
  ONBUILD: applyOnbuild,
  MAINTAINER: applyMaintainer,
};

/** Runs one (already expanded) instruction against the stage. ARG is handled by the stage runner. */
export async function applyInstruction(instr: Instruction, rt: StageRuntime): Promise<void> {
  const handler = HANDLERS[instr.kind] as
    | ((i: Instruction, rt: StageRuntime) => void | Promise<void>)
    | undefined;
  if (!handler) {
    throw new BuildStepError(
      "MOLT_UNSUPPORTED_INSTRUCTION",
      `${instr.kind} is not supported by this build of molt yet`,
      instr.location,
    );
  }
  await handler(instr, rt);
}
