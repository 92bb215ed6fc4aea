import { writeFileSync } from "node:fs";
import type { BuildProgressEvent } from "@molt/core";
import type { Renderer } from "./renderer.js";

/** The process's CPU time (user + system) in nanoseconds, to the microsecond. */
function cpuNs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) * 1000;
}

/**
 * Adds up the CPU time the display spends inside a build: every call into the renderer and
 * every callback it scheduled (its batched flushes, the tty view's redraws) runs through
 * {@link run}. Nested runs count once.
 *
 * Node 20 has no clock of one thread's CPU time, so a run counts the smaller of two readings
 * that both hold the main thread's CPU time in it, and more: the process's CPU time (the calling
 * thread is brought up to date by Linux on each reading, but threads running beside it, the
 * libuv pool and V8's compiler and GC helpers, count as of their last tick, so a run may be
 * charged their time) and the wall time (which holds the time the thread waited for a core).
 * The count errs on the high side, never the low. The cost of the readings themselves,
 * measured at the start, is taken off each run.
 */
export class CpuMeter {
  #ns = 0;
  #runs = 0;
  #depth = 0;
  /** What the readings of one run cost, in ns (the median of 51 empty runs). */
  readonly overheadNs: number;

  constructor() {
    const empty: number[] = [];
    for (let i = 0; i < 51; i++) {
      const w0 = process.hrtime.bigint();
      const c0 = cpuNs();
      empty.push(used(w0, c0));
    }
    empty.sort((a, b) => a - b);
    this.overheadNs = empty[25]!;
  }

  /** Runs `fn`, its CPU time counted. */
  run<T>(fn: () => T): T {
    if (this.#depth > 0) return fn();
    this.#depth++;
    const w0 = process.hrtime.bigint();
    const c0 = cpuNs();
    try {
      return fn();
    } finally {
      this.#ns += Math.max(0, used(w0, c0) - this.overheadNs);
      this.#runs++;
      this.#depth--;
    }
  }

  /** The total so far: CPU ns spent in runs, how many runs there were, what a run's readings cost. */
  total(): { ns: number; runs: number; overheadNs: number } {
    return { ns: this.#ns, runs: this.#runs, overheadNs: this.overheadNs };
  }
}

/** Since the readings `w0` (wall) and `c0` (CPU): the smaller of the CPU and the wall time, in ns. */
function used(w0: bigint, c0: number): number {
  return Math.min(cpuNs() - c0, Number(process.hrtime.bigint() - w0));
}

/**
 * A renderer whose CPU time is counted by `meter` (give the same meter to the renderer's
 * options, so its own timers count too); on `end` the total is written to `file` as JSON.
 */
export class MeteredRenderer implements Renderer {
  constructor(
    private readonly inner: Renderer,
    private readonly meter: CpuMeter,
    private readonly file: string,
  ) {}

  event(e: BuildProgressEvent): void {
    this.meter.run(() => this.inner.event(e));
  }

  end(outcome: { error?: unknown }): void {
    this.meter.run(() => this.inner.end(outcome));
    writeFileSync(this.file, `${JSON.stringify(this.meter.total())}\n`);
  }
}
