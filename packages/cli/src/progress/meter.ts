import { readFileSync, writeFileSync } from "node:fs";
import type { BuildProgressEvent } from "@molt/core";
import type { Renderer } from "./renderer.js";

/**
 * This thread's CPU time in ns, exact: asking for the process's CPU time makes Linux bring the
 * calling thread's run time up to date (`thread_group_cputime`), which
 * `/proc/thread-self/schedstat` then gives to the nanosecond. Other threads (the libuv pool,
 * V8's helpers) are not in it. `undefined` where there is no such file.
 */
function threadCpuNs(): number | undefined {
  process.cpuUsage();
  try {
    const s = readFileSync("/proc/thread-self/schedstat", "latin1");
    return Number(s.slice(0, s.indexOf(" ")));
  } catch {
    return undefined;
  }
}

/** The process's CPU time (user + system) in ns, to the microsecond. */
function processCpuNs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) * 1000;
}

/**
 * Adds up the CPU time the display spends inside a build: every call into the renderer and
 * every callback it scheduled (its batched flushes, the tty view's redraws) runs through
 * {@link run}. Nested runs count once. The clock is the main thread's own CPU time (exact, see
 * {@link threadCpuNs}: garbage collection done on this thread during a run counts, V8's helper
 * threads do not). Without `/proc/thread-self/schedstat` a run counts the smaller of the
 * process's CPU time and the wall time, both of which hold the thread's time and more (other
 * threads, waiting for a core): then the count errs on the high side. The cost of the readings
 * themselves, measured at the start, is taken off each run.
 */
export class CpuMeter {
  #ns = 0;
  #runs = 0;
  #depth = 0;
  readonly #exact = threadCpuNs() !== undefined;
  /** What the readings of one run cost, in ns (the median of 51 empty runs). */
  readonly overheadNs: number;

  constructor() {
    const empty: number[] = [];
    for (let i = 0; i < 51; i++) empty.push(this.#since(this.#reading()));
    empty.sort((a, b) => a - b);
    this.overheadNs = empty[25]!;
  }

  /** Which clock counts: `thread` (exact) or `process-or-wall` (the high side). */
  get clock(): "thread" | "process-or-wall" {
    return this.#exact ? "thread" : "process-or-wall";
  }

  /** Runs `fn`, its CPU time counted. */
  run<T>(fn: () => T): T {
    if (this.#depth > 0) return fn();
    this.#depth++;
    const start = this.#reading();
    try {
      return fn();
    } finally {
      this.#ns += Math.max(0, this.#since(start) - this.overheadNs);
      this.#runs++;
      this.#depth--;
    }
  }

  /** The total so far: CPU ns spent in runs, how many runs there were, what a run's readings cost, the clock. */
  total(): { ns: number; runs: number; overheadNs: number; clock: string } {
    return { ns: this.#ns, runs: this.#runs, overheadNs: this.overheadNs, clock: this.clock };
  }

  #reading(): { thread: number; wall: bigint; cpu: number } {
    if (this.#exact) return { thread: threadCpuNs() ?? 0, wall: 0n, cpu: 0 };
    return { thread: 0, wall: process.hrtime.bigint(), cpu: processCpuNs() };
  }

  #since(r: { thread: number; wall: bigint; cpu: number }): number {
    if (this.#exact) return (threadCpuNs() ?? r.thread) - r.thread;
    return Math.min(processCpuNs() - r.cpu, Number(process.hrtime.bigint() - r.wall));
  }
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
