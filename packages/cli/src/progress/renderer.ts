import type { BuildProgressEvent } from "@molt/core";
import type { Level } from "./levels.js";
import type { CpuMeter } from "./meter.js";

/** Draws a build's events on a stream. */
export interface Renderer {
  /** One event of the build. */
  event(e: BuildProgressEvent): void;
  /** The build ended (with `error` when it failed): everything still buffered is written. */
  end(outcome: { error?: unknown }): void;
}

/** How the output should look (from `--progress`, `--log-format`, `--log-timestamp`, `-v`). */
export interface DisplayOptions {
  level: Level;
  /** Prefix plain lines with an ISO timestamp (kaniko's `--log-timestamp`). */
  timestamps?: boolean;
  /** Colour the status words (kaniko's `--log-format=color`). */
  color?: boolean;
  /** Terminal width for the tty view (default the stream's `columns`, else 80). */
  columns?: number;
  /** Show cache hits with their key and store too (`--explain-cache`). */
  explainCache?: boolean;
  /** Redraw interval of the tty view in ms (default 100). */
  redrawMs?: number;
  /** Counts the display's CPU time, its scheduled flushes and redraws included (the bench's `MOLT_DISPLAY_CPU_FILE`). */
  meter?: CpuMeter;
}

/** A stream a renderer writes to. */
export interface Output {
  write(chunk: string): unknown;
  columns?: number;
  isTTY?: boolean;
}

/**
 * Writes text in batches: lines are collected and written at most once per event-loop turn
 * (or when 64 KiB are waiting), so a step printing 100,000 lines costs a few dozen writes. The
 * text is gathered by concatenation (V8 keeps it as a rope until the write), not in an array.
 */
export class BatchedWriter {
  #text = "";
  #scheduled = false;
  readonly #flush: () => void;
  constructor(
    private readonly out: Output,
    meter?: CpuMeter,
  ) {
    this.#flush = meter ? () => meter.run(() => this.flush()) : () => this.flush();
  }

  write(text: string): void {
    this.#text += text;
    if (this.#text.length >= 65536) this.flush();
    else if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(this.#flush);
    }
  }

  flush(): void {
    this.#scheduled = false;
    if (this.#text === "") return;
    const text = this.#text;
    this.#text = "";
    this.out.write(text);
  }
}

/**
 * The clock of the renderers' hot paths, read once per burst of events: the lines of one pipe
 * read arrive in one synchronous burst, so they share the time that burst began (the precision
 * the data has anyway). The reading is dropped in a microtask, after the burst.
 */
export class BurstClock {
  #ms: number | undefined;
  #iso: string | undefined;
  readonly #forget = () => {
    this.#ms = undefined;
    this.#iso = undefined;
  };

  /** Milliseconds since the epoch, as `Date.now()` at the start of this burst. */
  ms(): number {
    if (this.#ms === undefined) {
      this.#ms = Date.now();
      queueMicrotask(this.#forget);
    }
    return this.#ms;
  }

  /** {@link ms} as an ISO string. */
  iso(): string {
    this.#iso ??= new Date(this.ms()).toISOString();
    return this.#iso;
  }
}
