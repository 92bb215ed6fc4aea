import type { BuildPlan, Stage } from "@molt/parser";
import type { StepCache } from "../cache/step-cache.js";

/**
 * The stages whose layers end up in the built image: the target and the stages it is built
 * `FROM`, in a chain. With `--single-snapshot` the target's own layers are squashed into one,
 * so only its base stages' layers are final as written.
 */
export function finalLayerStages(plan: BuildPlan, singleSnapshot: boolean): Set<number> {
  const byIndex = new Map(plan.stages.map((p) => [p.stage.index, p]));
  const out = new Set<number>();
  for (let p = byIndex.get(plan.target.stage.index); p; ) {
    out.add(p.stage.index);
    p = p.baseStage === undefined ? undefined : byIndex.get(p.baseStage);
  }
  if (singleSnapshot) out.delete(plan.target.stage.index);
  return out;
}

/**
 * Whether the stage is sure to run a RUN command: it has a RUN that no cache can skip (no cache,
 * or one that does not probe RUN steps in this stage). Then its root can be materialised, and the
 * runner's host detection can start, at once instead of at its first RUN.
 */
export function stageRunIsCertain(stage: Stage, cache: StepCache | undefined): boolean {
  return (
    stage.instructions.some((i) => i.kind === "RUN") &&
    (cache?.use("run", { index: stage.index, name: stage.name }) ?? "off") !== "probe"
  );
}

/** Whether some stage of the build is sure to run a RUN command (see {@link stageRunIsCertain}). */
export function runIsCertain(plan: BuildPlan, cache: StepCache | undefined): boolean {
  return plan.stages.some((p) => stageRunIsCertain(p.stage, cache));
}
