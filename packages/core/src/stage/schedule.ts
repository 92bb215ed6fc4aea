import { MoltError } from "@molt/oci";

/** A stage as the scheduler sees it: its index and the stages it needs. */
export interface SchedulableStage {
  readonly index: number;
  /** Stages that must be finished first (`FROM <stage>`, `COPY --from`, `RUN --mount from=`). */
  readonly dependsOn: readonly number[];
}

/** What the scheduler hands the work of one stage. */
export interface StageSlot {
  /** Aborted when the build's signal is, or when another stage failed. */
  readonly signal: AbortSignal;
}

/** The stage graph cannot be run: a dependency is not in it, or the dependencies form a cycle. */
export class StageGraphError extends MoltError {
  constructor(message: string) {
    super("MOLT_STAGE_GRAPH", message);
  }
}

/**
 * Runs the stages of a build as a graph: every stage whose dependencies are finished starts, at
 * most `jobs` at a time, taken in the order given (the plan's, dependencies first), so
 * `jobs: 1` runs them one after another exactly in that order. The first failure aborts the
 * signal every running stage got and is thrown once all of them have settled (nothing is left
 * running); stages not started by then never start. Resolves to each stage's result by index.
 *
 * @example
 * ```ts
 * const results = await scheduleStages(plan.stages.map((s) => ({ index: s.stage.index, dependsOn: s.dependsOn })),
 *   (index, { signal }) => buildStage(index, signal), { jobs: 4 });
 * ```
 */
export function scheduleStages<T>(
  stages: readonly SchedulableStage[],
  work: (index: number, slot: StageSlot) => Promise<T>,
  options: {
    jobs: number;
    signal?: AbortSignal | undefined;
    /** Called once, at the first failure, before the siblings are waited for (e.g. to abort the build's own signal). */
    onFailure?: (error: unknown) => void;
  },
): Promise<Map<number, T>> {
  const jobs = Math.max(1, Math.floor(options.jobs));
  const known = new Set(stages.map((s) => s.index));
  for (const s of stages) {
    for (const d of s.dependsOn) {
      if (!known.has(d)) {
        return Promise.reject(new StageGraphError(`stage ${s.index} needs stage ${d}, which is not planned`));
      }
    }
  }
  const controller = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, controller.signal]) : controller.signal;
  const results = new Map<number, T>();
  const pending = [...stages];
  let running = 0;
  let failure: { error: unknown } | undefined;

  return new Promise((resolve, reject) => {
    const fail = (error: unknown) => {
      if (failure) return;
      failure = { error };
      controller.abort(error);
      options.onFailure?.(error);
    };
    const pump = () => {
      if (!failure && options.signal?.aborted) fail(options.signal.reason);
      if (failure) {
        if (running === 0) reject(failure.error);
        return;
      }
      for (let i = 0; i < pending.length && running < jobs; ) {
        const stage = pending[i]!;
        if (!stage.dependsOn.every((d) => results.has(d))) {
          i++;
          continue;
        }
        pending.splice(i, 1);
        running++;
        // A stage starts on a later tick, so a synchronous throw is a rejection like any other.
        Promise.resolve()
          .then(() => work(stage.index, { signal }))
          .then(
            (r) => {
              results.set(stage.index, r);
            },
            (e: unknown) => fail(e),
          )
          .finally(() => {
            running--;
            pump();
          });
      }
      if (running === 0) {
        if (pending.length === 0) resolve(results);
        else
          reject(
            new StageGraphError(
              `stages ${pending.map((s) => s.index).join(", ")} wait on each other (a dependency cycle)`,
            ),
          );
      }
    };
    pump();
  });
}
