import { MoltError } from "@molt/oci";

/** A stage as the scheduler sees it: its index and the stages it needs. */
export interface SchedulableStage {
  readonly index: number;
  /** Stages that must be finished before this one starts (its `FROM <stage>`). */
  readonly dependsOn: readonly number[];
  /**
   * Stages this one reads later (`COPY --from`, `RUN --mount from=`): it starts without them and
   * waits for each through {@link StageSlot.waitFor} only when a step gets there.
   */
  readonly uses?: readonly number[];
}

/** What the scheduler hands the work of one stage. */
export interface StageSlot {
  /** Aborted when the build's signal is, or when another stage failed. */
  readonly signal: AbortSignal;
  /**
   * Resolves once stage `index` (one of this stage's `dependsOn` or `uses`) has finished. While
   * it waits the stage gives up its job, so the stage it waits for can run even at `jobs: 1`; it
   * takes a job again before resolving. Rejects with the first failure's error when the build fails
   * (the signal is aborted by then).
   */
  waitFor(index: number): Promise<void>;
}

/** The stage graph cannot be run: a dependency is not in it, or the dependencies form a cycle. */
export class StageGraphError extends MoltError<"MOLT_STAGE_GRAPH"> {
  constructor(message: string) {
    super("MOLT_STAGE_GRAPH", message);
  }
}

interface Waiter {
  /** Called with the job already taken for it. */
  resolve(): void;
  reject(error: unknown): void;
  /** Whether it takes a job back before resolving (false for a stage's second wait at once). */
  job: boolean;
}

/**
 * Runs the stages of a build as a graph: every stage whose `dependsOn` are finished starts, at
 * most `jobs` at a time, taken in the order given (the plan's, dependencies first), so
 * `jobs: 1` runs them one after another exactly in that order. A stage waits for the stages in
 * its `uses` only when it asks ({@link StageSlot.waitFor}), and holds no job meanwhile. The first
 * failure aborts the signal every running stage got (a stage waiting for another is rejected)
 * and is thrown once all of them have settled (nothing is left running); stages not started by
 * then never start. Resolves to each stage's result by index.
 *
 * @example
 * ```ts
 * const results = await scheduleStages(
 *   plan.stages.map((s) => ({ index: s.stage.index, dependsOn: s.baseStage === undefined ? [] : [s.baseStage], uses: s.dependsOn })),
 *   (index, slot) => buildStage(index, slot), { jobs: 4 });
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
    for (const d of [...s.dependsOn, ...(s.uses ?? [])]) {
      if (!known.has(d)) {
        return Promise.reject(new StageGraphError(`stage ${s.index} needs stage ${d}, which is not planned`));
      }
    }
  }
  const cycle = findCycle(stages);
  if (cycle) {
    return Promise.reject(
      new StageGraphError(`stages ${cycle.join(", ")} wait on each other (a dependency cycle)`),
    );
  }
  const controller = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, controller.signal]) : controller.signal;
  const results = new Map<number, T>();
  const pending = [...stages];
  /** Stages started and not settled. */
  let alive = 0;
  /** Stages holding a job (alive and not waiting for another stage). */
  let busy = 0;
  /** Stages waiting for a stage to finish, by that stage's index. */
  const waiting = new Map<number, Waiter[]>();
  /** Stages whose wait is over, waiting for a job (served before new stages start). */
  const resuming: Waiter[] = [];
  let failure: { error: unknown } | undefined;

  return new Promise((resolve, reject) => {
    const fail = (error: unknown) => {
      if (failure) return;
      failure = { error };
      controller.abort(error);
      options.onFailure?.(error);
      // Waiting stages learn of it after the signal is aborted, so they report themselves canceled.
      const waiters = [...resuming.splice(0), ...[...waiting.values()].flat()];
      waiting.clear();
      for (const w of waiters) w.reject(error);
    };
    const onAbort = () => {
      fail(options.signal!.reason);
      pump();
    };
    options.signal?.addEventListener("abort", onAbort, { once: true });
    const finish = (settle: () => void) => {
      options.signal?.removeEventListener("abort", onAbort);
      settle();
    };
    const pump = () => {
      if (!failure && options.signal?.aborted) fail(options.signal.reason);
      if (failure) {
        if (alive === 0) finish(() => reject(failure!.error));
        return;
      }
      while (busy < jobs && resuming.length > 0) resuming.shift()!.resolve();
      for (let i = 0; i < pending.length && busy < jobs; ) {
        const stage = pending[i]!;
        if (!stage.dependsOn.every((d) => results.has(d))) {
          i++;
          continue;
        }
        pending.splice(i, 1);
        alive++;
        busy++;
        /** Whether this stage holds a job now (it gives it up while it waits). */
        let holds = true;
        const allowed = new Set([...stage.dependsOn, ...(stage.uses ?? [])]);
        const slot: StageSlot = {
          signal,
          waitFor: (index) => {
            if (!allowed.has(index)) {
              return Promise.reject(
                new StageGraphError(
                  `stage ${stage.index} waits for stage ${index}, which it does not depend on`,
                ),
              );
            }
            if (failure) return Promise.reject(failure.error);
            if (results.has(index)) return Promise.resolve();
            return new Promise<void>((res, rej) => {
              const list = waiting.get(index) ?? [];
              waiting.set(index, list);
              if (!holds) {
                // A second wait at the same time: the job is already given up, and taken back by the first.
                list.push({ resolve: res, reject: rej, job: false });
                return;
              }
              list.push({
                resolve: () => {
                  busy++;
                  holds = true;
                  res();
                },
                reject: rej,
                job: true,
              });
              busy--;
              holds = false;
              // Let the stage waited for (or any other) take the job given up; on a later tick,
              // so a stage asking synchronously from its start does not re-enter the loop above.
              queueMicrotask(pump);
            });
          },
        };
        // A stage starts on a later tick, so a synchronous throw is a rejection like any other.
        Promise.resolve()
          .then(() => work(stage.index, slot))
          .then(
            (r) => {
              results.set(stage.index, r);
              for (const w of waiting.get(stage.index) ?? []) {
                if (w.job) resuming.push(w);
                else w.resolve();
              }
              waiting.delete(stage.index);
            },
            (e: unknown) => fail(e),
          )
          .finally(() => {
            alive--;
            if (holds) busy--;
            pump();
          });
      }
      if (alive === 0) {
        if (pending.length === 0) finish(() => resolve(results));
        else
          finish(() =>
            reject(
              new StageGraphError(
                `stages ${pending.map((s) => s.index).join(", ")} wait on each other (a dependency cycle)`,
              ),
            ),
          );
      }
    };
    pump();
  });
}

/** The stages of a cycle in the graph (both kinds of edge), or undefined when there is none. */
function findCycle(stages: readonly SchedulableStage[]): number[] | undefined {
  const byIndex = new Map(stages.map((s) => [s.index, s]));
  const state = new Map<number, "visiting" | "done">();
  const path: number[] = [];
  const visit = (index: number): number[] | undefined => {
    const s = state.get(index);
    if (s === "done") return undefined;
    if (s === "visiting") return path.slice(path.indexOf(index));
    state.set(index, "visiting");
    path.push(index);
    const st = byIndex.get(index)!;
    for (const d of [...st.dependsOn, ...(st.uses ?? [])]) {
      const c = visit(d);
      if (c) return c;
    }
    path.pop();
    state.set(index, "done");
    return undefined;
  };
  for (const s of stages) {
    const c = visit(s.index);
    if (c) return c.sort((a, b) => a - b);
  }
  return undefined;
}
