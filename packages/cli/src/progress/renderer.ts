import type { BuildProgressEvent } from "@molt/core";
import type { Level } from "./levels.js";

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
}

/** A stream a renderer writes to. */
export interface Output {
  write(chunk: string): unknown;
  columns?: number;
  isTTY?: boolean;
}

/**
 * Writes text in batches: lines are collected and written at most once per event-loop turn
 * (or when 64 KiB are waiting), so a step printing 100,000 lines costs a few hundred writes.
 */
export class BatchedWriter {
  #parts: string[] = [];
  #size = 0;
  #scheduled = false;
  constructor(private readonly out: Output) {}

  write(text: string): void {
    this.#parts.push(text);
    this.#size += text.length;
    if (this.#size >= 65536) this.flush();
    else if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(() => this.flush());
    }
  }

  flush(): void {
    this.#scheduled = false;
    if (this.#parts.length === 0) return;
    const text = this.#parts.join("");
    this.#parts = [];
    this.#size = 0;
    this.out.write(text);
  }
}
