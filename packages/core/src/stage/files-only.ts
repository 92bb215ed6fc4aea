import type { BuildPlan, Instruction } from "@molt/parser";
import { stepFor } from "../instructions/index.js";

/**
 * Stages that are only read as files: their files are `COPY --from`'d (or bind-mounted into a
 * RUN) by other stages, and nothing else ever reads them. Such a stage's RUN steps need no
 * snapshot and write no layer (see {@link straightRuns}): nothing would read its layers.
 *
 * A stage is files-only when it is not the target, no stage is `FROM` it, and the build keeps
 * nothing of its steps and records none of them: no cache (its layers would be stored), no
 * persistent snapshots (`--cache-dir`), no user snapshotter (it is told of every step), not a
 * plan (`--dryrun`), not `--single-snapshot`.
 *
 * @example
 * ```ts
 * const only = filesOnlyStages(plan, { recorded: options.snapshotter !== undefined || cache !== undefined });
 * only.has(0); // true for `FROM x AS build` … `FROM y` + `COPY --from=build`
 * ```
 */
export function filesOnlyStages(plan: BuildPlan, how: { recorded: boolean }): Set<number> {
  const out = new Set<number>();
  if (how.recorded) return out;
  const bases = new Set(plan.stages.flatMap((p) => (p.baseStage === undefined ? [] : [p.baseStage])));
  for (const p of plan.stages) {
    const i = p.stage.index;
    if (i !== plan.target.stage.index && !bases.has(i)) out.add(i);
  }
  return out;
}

/** Which RUN steps of a files-only stage run straight in its root (see {@link straightRuns}). */
export interface StraightRuns {
  /** RUN steps at this 0-based position of the stage's instructions and after run straight in the root. */
  readonly from: number;
  /** No step of the stage diffs its root: a walk-mode snapshotter (no helper, no overlay check) is enough. */
  readonly noDiffs: boolean;
}

/**
 * The RUN steps of a files-only stage that can run straight in its root, with no snapshot and
 * no layer: those after the stage's last other file-changing step (COPY, ADD, WORKDIR). Such a
 * step writes a layer that is applied to the root through the snapshotter's baseline, which a
 * RUN that was not diffed leaves out of date, so the RUNs before it are recorded as usual.
 * `instructions` are the stage's steps as run (ONBUILD triggers of its base first).
 *
 * @example
 * ```ts
 * straightRuns(parse("COPY a /a\nRUN make\n")); // { from: 1, noDiffs: true }
 * ```
 */
export function straightRuns(instructions: readonly Instruction[]): StraightRuns {
  let from = 0;
  instructions.forEach((instr, i) => {
    if (instr.kind !== "RUN" && changesFiles(instr)) from = i + 1;
  });
  const noDiffs = !instructions.slice(0, from).some((i) => i.kind === "RUN");
  return { from, noDiffs };
}

/** Whether the step of `instr` changes files (an instruction molt does not support fails later: counted as changing). */
function changesFiles(instr: Instruction): boolean {
  if (instr.kind === "ARG") return false;
  try {
    return stepFor(instr).changesFiles;
  } catch {
    return true;
  }
}

/**
 * Drops the roots of files-only stages once every stage that reads them has finished, so their
 * directories are removed while the build goes on (the push) rather than at its end: the
 * multistage build's 4 MB source stage went at the end of the build, on the critical path.
 *
 * @example
 * ```ts
 * const release = new FilesOnlyRelease(plan, filesOnly);
 * // each time a stage finishes:
 * release.finished(index, (i) => finished.get(i)?.runtime.discardFilesystem());
 * await release.settled(); // before the build's work directory is removed
 * ```
 */
export class FilesOnlyRelease {
  /** For each files-only stage, the stages that read it and have not finished yet. */
  readonly #readers = new Map<number, Set<number>>();
  readonly #dropping: Promise<unknown>[] = [];

  constructor(plan: BuildPlan, filesOnly: ReadonlySet<number>) {
    for (const p of plan.stages)
      for (const d of p.dependsOn) {
        if (!filesOnly.has(d) || d === p.stage.index) continue;
        let readers = this.#readers.get(d);
        if (!readers) this.#readers.set(d, (readers = new Set()));
        readers.add(p.stage.index);
      }
  }

  /** Stage `index` finished: `drop(i)` each files-only stage `i` that no unfinished stage reads now. */
  finished(index: number, drop: (stage: number) => Promise<void> | undefined): void {
    for (const [stage, readers] of this.#readers) {
      if (!readers.delete(index) || readers.size > 0) continue;
      this.#readers.delete(stage);
      const p = drop(stage);
      if (p) this.#dropping.push(p.catch(() => {}));
    }
  }

  /** Settles once every drop started so far has. */
  async settled(): Promise<void> {
    await Promise.all(this.#dropping);
  }
}
