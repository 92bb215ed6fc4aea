import type { BuildProgressEvent } from "@molt/core";
import { formatBytes, formatSeconds, shortDigest, stepErrorMessage } from "./format.js";
import { atLeast } from "./levels.js";
import { BatchedWriter, BurstClock, type DisplayOptions, type Output, type Renderer } from "./renderer.js";

const COLORS = { green: "\x1b[32m", red: "\x1b[31m", blue: "\x1b[34m", yellow: "\x1b[33m", reset: "\x1b[0m" };

/** Throttle for in-flight transfer lines of one blob. */
const TRANSFER_EVERY_MS = 1000;

/**
 * BuildKit's plain output: every line starts with the step id (`#5 [build 2/4] RUN make`,
 * `#5 0.351 make: building`, `#5 DONE 3.2s`, `#6 CACHED`, `#7 ERROR: …`), transfers with their
 * sizes, a blank line whenever the step changes, so parallel stages interleave readably, and a
 * last line with the image digest and the total time.
 */
export class PlainRenderer implements Renderer {
  readonly #out: BatchedWriter;
  readonly #opts: DisplayOptions;
  readonly #started = new Map<number, number>();
  readonly #cached = new Set<number>();
  readonly #transfers = new Map<string, { start: number; printed: number }>();
  readonly #extracts = new Map<string, number>();
  /** The start of a line too long for one event, by `step stream`, until its last piece comes. */
  readonly #partial = new Map<string, string>();
  readonly #clock = new BurstClock();
  readonly #info: boolean;
  readonly #debug: boolean;
  #last: number | undefined;
  #wrote = false;

  constructor(out: Output, opts: DisplayOptions) {
    this.#out = new BatchedWriter(out, opts.meter);
    this.#opts = opts;
    this.#info = atLeast(opts.level, "info");
    this.#debug = atLeast(opts.level, "debug");
  }

  event(e: BuildProgressEvent): void {
    const { level } = this.#opts;
    const info = this.#info;
    const debug = this.#debug;
    // The hot path (a step may print 100,000 lines): one event per output chunk, its lines
    // joined behind one prefix.
    if (e.type === "molt:step:log") {
      if (!info) return;
      if (e.partial || this.#partial.size > 0) this.#logPieces(e);
      else this.#logLines(e.step, e.lines);
      return;
    }
    switch (e.type) {
      case "molt:step:start":
        this.#started.set(e.step, Date.now());
        if (info) this.#line(e.step, e.name);
        return;
      case "molt:step:cache":
        if (e.hit) {
          this.#cached.add(e.step);
          const why =
            this.#opts.explainCache && e.key
              ? ` ${shortDigest(e.key)}${e.store ? ` from ${e.store}` : ""}`
              : "";
          if (info) this.#line(e.step, `${this.#paint("blue", "CACHED")}${why}`);
        } else if (e.reason && ((info && e.store !== undefined) || debug)) {
          // With a cache, a miss says which input changed; without one only -v debug says so.
          this.#line(e.step, `cache miss: ${e.reason}`);
        }
        return;
      case "molt:step:done":
        this.#endPieces(e.step);
        if (info && !this.#cached.has(e.step))
          this.#line(e.step, `${this.#paint("green", "DONE")} ${formatSeconds(e.durationMs)}`);
        return;
      case "molt:step:error":
        this.#endPieces(e.step);
        this.#line(e.step, `${this.#paint("red", "ERROR:")} ${stepErrorMessage(e)}`);
        return;
      case "molt:step:canceled":
        this.#endPieces(e.step);
        if (atLeast(level, "warn")) this.#line(e.step, this.#paint("yellow", "CANCELED"));
        return;
      case "molt:base:resolved":
        if (info) this.#line(e.step, `resolve ${e.reference}@${e.digest} done`);
        return;
      case "molt:context:transfer":
        if (info)
          this.#line(
            e.step,
            `transferring context: ${e.files} file${e.files === 1 ? "" : "s"}, ${formatBytes(e.bytes)} done`,
          );
        return;
      case "molt:context:download":
        if (info)
          this.#line(
            e.step,
            `downloading ${e.url} ${formatBytes(e.bytes)}${e.total !== undefined ? ` / ${formatBytes(e.total)}` : ""}`,
          );
        return;
      case "molt:context:clone":
        if (info)
          this.#line(
            e.step,
            `git clone ${e.url}${e.ref ? `#${e.ref}` : ""} ${e.phase === "done" ? "done" : ""}`.trimEnd(),
          );
        return;
      case "molt:registry:blob-progress":
        if (info) this.#transferProgress(e);
        return;
      case "molt:registry:blob-done":
        if (info) this.#transferDone(e);
        return;
      case "molt:registry:retry":
        if (atLeast(level, "warn"))
          this.#line(e.step, `retry ${e.attempt} in ${formatSeconds(e.delayMs)}: ${e.reason}`);
        return;
      case "molt:snapshot:extract-start":
        this.#extracts.set(`${e.step} ${e.index}`, Date.now());
        return;
      case "molt:snapshot:extract-done": {
        const key = `${e.step} ${e.index}`;
        const start = this.#extracts.get(key) ?? Date.now();
        this.#extracts.delete(key);
        if (info)
          this.#line(
            e.step,
            `extracting layer ${e.index + 1} (${e.entries} entries, ${formatBytes(e.bytes)}) ${formatSeconds(Date.now() - start)} done`,
          );
        return;
      }
      case "molt:snapshot:changes":
        if (debug)
          this.#line(e.step, `snapshot (${e.mode}): ${e.changes} changes ${formatSeconds(e.durationMs)}`);
        return;
      case "molt:layer:written":
        if (info)
          this.#line(
            e.step,
            `writing layer ${shortDigest(e.digest)} ${formatBytes(e.size)}, ${e.entries} entries done`,
          );
        return;
      case "molt:output:pushed":
        if (info) this.#line(e.step, `pushing manifest for ${e.reference}@${e.digest} done`);
        return;
      case "molt:output:written":
        if (info) this.#line(e.step, `writing ${e.kind} ${e.target} done`);
        return;
      case "molt:build:warning":
        if (atLeast(level, "warn"))
          this.#global(
            `${this.#paint("yellow", "WARNING")} ${e.file ? `${e.file}${e.line ? `:${e.line}` : ""}: ` : ""}${e.message}`,
          );
        return;
      case "molt:build:runner":
        if (debug || (info && e.limitations.length > 0))
          this.#global(
            `runner ${e.name}${e.limitations.length > 0 ? ` (cannot provide: ${e.limitations.join("; ")})` : ""}`,
          );
        return;
      case "molt:build:done":
        if (info) this.#global(`built ${e.digest} in ${formatSeconds(e.durationMs)}`);
        return;
      default:
        if (atLeast(level, "trace")) this.#traceLine(e);
    }
  }

  end(): void {
    for (const step of [...this.#partial.keys()].map((k) => Number(k.split(" ")[0]))) this.#endPieces(step);
    this.#out.flush();
  }

  /** Log lines of a step with a long line in pieces: each line printed once, whole. */
  #logPieces(e: Extract<BuildProgressEvent, { type: "molt:step:log" }>): void {
    const key = `${e.step} ${e.stream}`;
    let lines = e.lines;
    const head = this.#partial.get(key);
    if (head !== undefined) {
      this.#partial.delete(key);
      lines = [head + (lines[0] ?? ""), ...lines.slice(1)];
    }
    if (e.partial) {
      this.#partial.set(key, lines.at(-1) ?? "");
      lines = lines.slice(0, -1);
    }
    if (lines.length > 0) this.#logLines(e.step, lines);
  }

  /** Prints what is left of a long line of `step` that never got its last piece. */
  #endPieces(step: number): void {
    if (this.#partial.size === 0) return;
    for (const stream of ["stdout", "stderr"]) {
      const head = this.#partial.get(`${step} ${stream}`);
      if (head === undefined) continue;
      this.#partial.delete(`${step} ${stream}`);
      if (this.#info) this.#logLines(step, [head]);
    }
  }

  #transferProgress(e: Extract<BuildProgressEvent, { type: "molt:registry:blob-progress" }>): void {
    const key = `${e.step} ${e.direction} ${e.digest}`;
    const now = Date.now();
    const t = this.#transfers.get(key);
    if (!t) {
      this.#transfers.set(key, { start: now, printed: now });
      return;
    }
    if (now - t.printed < TRANSFER_EVERY_MS || (e.total !== undefined && e.transferred >= e.total)) return;
    t.printed = now;
    this.#line(
      e.step,
      `${shortDigest(e.digest)} ${formatBytes(e.transferred)}${e.total !== undefined ? ` / ${formatBytes(e.total)}` : ""} ${formatSeconds(now - t.start)}`,
    );
  }

  #transferDone(e: Extract<BuildProgressEvent, { type: "molt:registry:blob-done" }>): void {
    const key = `${e.step} ${e.direction} ${e.digest}`;
    const start = this.#transfers.get(key)?.start ?? Date.now();
    this.#transfers.delete(key);
    const what = shortDigest(e.digest);
    if (e.result === "exists") this.#line(e.step, `${what} already exists`);
    else if (e.result === "mounted") this.#line(e.step, `${what} mounted ${formatBytes(e.size)}`);
    else {
      const verb = e.direction === "push" ? "pushing " : "";
      this.#line(
        e.step,
        `${verb}${what} ${formatBytes(e.size)} / ${formatBytes(e.size)} ${formatSeconds(Date.now() - start)} done`,
      );
    }
  }

  #traceLine(e: BuildProgressEvent): void {
    const { type, ...rest } = e as { type: string; step?: number };
    const text = `${type} ${JSON.stringify({ ...rest, step: undefined })}`;
    if (typeof rest.step === "number") this.#line(rest.step, text);
    else this.#global(text);
  }

  #elapsed(step: number, digits: number): string {
    const start = this.#started.get(step) ?? Date.now();
    return ((Date.now() - start) / 1000).toFixed(digits);
  }

  #paint(color: keyof typeof COLORS, text: string): string {
    return this.#opts.color ? `${COLORS[color]}${text}${COLORS.reset}` : text;
  }

  /**
   * `#5 1.234 line` for each line of one output chunk (the text `#line(step, `${elapsed} ${line}`)`
   * gives per line): the prefix made once, the lines joined by the engine, one write.
   */
  #logLines(step: number, lines: readonly string[]): void {
    if (this.#wrote && this.#last !== step) this.#out.write("\n");
    this.#last = step;
    this.#wrote = true;
    const prefix = `${this.#stamp()}#${step} ${this.#elapsed(step, 3)} `;
    this.#out.write(
      lines.length === 1 ? `${prefix}${lines[0]}\n` : `${prefix}${lines.join(`\n${prefix}`)}\n`,
    );
  }

  #line(step: number, text: string): void {
    if (this.#wrote && this.#last !== step) this.#out.write("\n");
    this.#last = step;
    this.#wrote = true;
    this.#out.write(`${this.#stamp()}#${step} ${text}\n`);
  }

  #global(text: string): void {
    if (this.#wrote && this.#last !== undefined) this.#out.write("\n");
    this.#last = undefined;
    this.#wrote = true;
    this.#out.write(`${this.#stamp()}${text}\n`);
  }

  #stamp(): string {
    return this.#opts.timestamps ? `${this.#clock.iso()} ` : "";
  }
}
