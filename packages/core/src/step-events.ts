import type { ContextProgressEvent } from "@molt/context-source";
import type { LayerProgressEvent } from "@molt/layer-writer";
import { type ArchiveProgressEvent, MoltError } from "@molt/oci";
import type { RegistryProgressEvent } from "@molt/registry-client";
import type { ExtractProgressEvent } from "@molt/snapshotter";
import createDebug from "debug";
import type { BuildProgressEvent, StepId, StepStartEvent, WithStep } from "./events.js";

const debug = createDebug("molt:events");

/** What a step says about itself when it starts (the id is given by {@link BuildEvents}). */
export type StepInfo = Omit<StepStartEvent, "type" | "step">;

/** Any part's event before the step id is added. */
export type PartEventIn =
  | RegistryProgressEvent
  | LayerProgressEvent
  | ExtractProgressEvent
  | ContextProgressEvent
  | ArchiveProgressEvent;

/**
 * The emitting side of the event model: hands out build-wide step ids, wraps work in
 * start/done/error/canceled events with durations, and forwards the parts' events with the id of
 * the step they happen in. A throwing `onProgress` never fails the build.
 */
export class BuildEvents {
  #next = 1;
  readonly #sink: ((e: BuildProgressEvent) => void) | undefined;
  readonly #signal: AbortSignal | undefined;

  constructor(sink: ((e: BuildProgressEvent) => void) | undefined, signal?: AbortSignal) {
    this.#sink = sink;
    this.#signal = signal;
  }

  /** True when someone listens (so callers can skip building events). */
  get listening(): boolean {
    return this.#sink !== undefined;
  }

  /** Sends one event. */
  emit(e: BuildProgressEvent): void {
    if (!this.#sink) return;
    try {
      this.#sink(e);
    } catch (err) {
      debug("onProgress threw on %s: %O", e.type, err);
    }
  }

  /** A part's `onProgress` callback whose events are forwarded with `step` added; undefined when nobody listens. */
  forStep(step: StepId): ((e: PartEventIn) => void) | undefined {
    if (!this.#sink) return undefined;
    return (e) => this.emit({ ...e, step } as WithStep<PartEventIn>);
  }

  /**
   * Runs `work` as a step: `molt:step:start`, then `done` with its duration, or `error` (or
   * `canceled` when the build's signal was aborted first) before the error is rethrown.
   */
  async run<T>(info: StepInfo, work: (step: StepId) => Promise<T>): Promise<T> {
    const step = this.#next++;
    const t0 = performance.now();
    this.emit({ type: "molt:step:start", step, ...info });
    try {
      const result = await work(step);
      this.emit({ type: "molt:step:done", step, durationMs: elapsed(t0) });
      return result;
    } catch (e) {
      const durationMs = elapsed(t0);
      if (this.#signal?.aborted) this.emit({ type: "molt:step:canceled", step, durationMs });
      else this.emit({ type: "molt:step:error", step, durationMs, ...describeError(e) });
      throw e;
    }
  }
}

function elapsed(t0: number): number {
  return Math.round((performance.now() - t0) * 10) / 10;
}

/** The fields of `molt:step:error` for an error. */
function describeError(e: unknown): { message: string; code?: string; exitCode?: number; argv?: string[] } {
  const message = e instanceof Error ? e.message : String(e);
  const out: { message: string; code?: string; exitCode?: number; argv?: string[] } = { message };
  if (e instanceof MoltError) out.code = e.code;
  const fields = e as { exitCode?: unknown; argv?: unknown };
  if (typeof fields.exitCode === "number") out.exitCode = fields.exitCode;
  if (Array.isArray(fields.argv) && fields.argv.every((a) => typeof a === "string")) out.argv = fields.argv;
  return out;
}
