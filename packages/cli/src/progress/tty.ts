import type { BuildProgressEvent } from "@molt/core";
import { formatBytes, formatSeconds, shortDigest, stepErrorMessage } from "./format.js";
import { atLeast } from "./levels.js";
import type { DisplayOptions, Output, Renderer } from "./renderer.js";

/** Log lines shown under a running step. */
const TAIL = 6;

interface StepView {
  id: number;
  name: string;
  start: number;
  end?: number;
  status: "running" | "done" | "cached" | "error" | "canceled";
  /**
   * Every log line, kept whole for the report of a failed step: one string per output chunk,
   * its lines joined by `\n` (a few dozen long strings to keep alive, not 100,000 short ones
   * for the garbage collector to copy).
   */
  logs: string[];
  /** The stream whose last log entry is a piece of a line continued in its next event. */
  partial?: "stdout" | "stderr" | undefined;
  transfers: Map<string, { transferred: number; total?: number; start: number }>;
  error?: string;
}

/**
 * The live view, BuildKit's way: a header with the elapsed time and steps done, and under it
 * every running step with its last log lines and byte progress of its transfers. A finished
 * step collapses to one line (`=> [build 2/4] RUN make  3.2s`) printed once above the view.
 * Redraws are throttled to one per `redrawMs`; events only update state, so a step that prints
 * a lot costs no more than one frame per interval. After the view, the whole log of a failed
 * step is printed.
 */
export class TtyRenderer implements Renderer {
  readonly #out: Output;
  readonly #opts: DisplayOptions;
  readonly #steps = new Map<number, StepView>();
  readonly #running = new Set<number>();
  readonly #start = Date.now();
  #pending: string[] = [];
  #liveHeight = 0;
  #dirty = true;
  #timer: NodeJS.Timeout | undefined;
  #done: { digest: string; durationMs: number } | undefined;

  constructor(out: Output, opts: DisplayOptions) {
    this.#out = out;
    this.#opts = opts;
  }

  event(e: BuildProgressEvent): void {
    if (e.type === "molt:step:log") {
      // The hot path: a chunk of lines is only kept; the next frame shows its tail.
      const s = this.#steps.get(e.step);
      if (s) {
        const text = e.lines.length === 1 ? e.lines[0]! : e.lines.join("\n");
        // The rest of a long line goes onto its start, so the line is whole in the report.
        if (s.partial === e.stream && s.logs.length > 0) s.logs[s.logs.length - 1] += text;
        else s.logs.push(text);
        s.partial = e.partial ? e.stream : undefined;
      }
      this.#dirty = true;
      return;
    }
    const info = atLeast(this.#opts.level, "info");
    switch (e.type) {
      case "molt:step:start":
        this.#steps.set(e.step, {
          id: e.step,
          name: e.name,
          start: Date.now(),
          status: "running",
          logs: [],
          transfers: new Map(),
        });
        this.#running.add(e.step);
        this.#ensureTimer();
        break;
      case "molt:step:cache":
        if (e.hit) this.#finish(e.step, "cached");
        break;
      case "molt:step:done":
        this.#finish(e.step, "done");
        break;
      case "molt:step:error": {
        const s = this.#steps.get(e.step);
        if (s) s.error = stepErrorMessage(e);
        this.#finish(e.step, "error");
        break;
      }
      case "molt:step:canceled":
        this.#finish(e.step, "canceled");
        break;
      case "molt:registry:blob-progress": {
        const s = this.#steps.get(e.step);
        const t = s?.transfers.get(e.digest);
        if (s && !t)
          s.transfers.set(e.digest, {
            transferred: e.transferred,
            start: Date.now(),
            ...(e.total !== undefined ? { total: e.total } : {}),
          });
        else if (t) t.transferred = e.transferred;
        break;
      }
      case "molt:registry:blob-done":
        this.#steps.get(e.step)?.transfers.delete(e.digest);
        break;
      case "molt:build:warning":
        if (atLeast(this.#opts.level, "warn"))
          this.#pending.push(
            `WARNING ${e.file ? `${e.file}${e.line ? `:${e.line}` : ""}: ` : ""}${e.message}`,
          );
        break;
      case "molt:build:runner":
        if (info && e.limitations.length > 0)
          this.#pending.push(`runner ${e.name} (cannot provide: ${e.limitations.join("; ")})`);
        break;
      case "molt:build:done":
        this.#done = { digest: e.digest, durationMs: e.durationMs };
        break;
      default:
        return;
    }
    this.#dirty = true;
  }

  end(outcome: { error?: unknown }): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    for (const id of this.#running) this.#finish(id, outcome.error ? "canceled" : "done");
    this.#draw(true);
    const out: string[] = [];
    for (const s of this.#steps.values()) {
      if (s.status !== "error") continue;
      out.push("------", ` > ${s.name}:`);
      for (const chunk of s.logs) out.push(chunk);
      out.push("------", `ERROR: ${s.name}: ${s.error ?? "failed"}`);
    }
    if (this.#done && atLeast(this.#opts.level, "info"))
      out.push(`built ${this.#done.digest} in ${formatSeconds(this.#done.durationMs)}`);
    if (out.length > 0) this.#out.write(`${out.join("\n")}\n`);
  }

  #finish(id: number, status: StepView["status"]): void {
    const s = this.#steps.get(id);
    if (s?.status !== "running") return;
    s.status = status;
    s.end = Date.now();
    this.#running.delete(id);
    if (atLeast(this.#opts.level, "info") || status === "error") this.#pending.push(this.#collapsed(s));
  }

  #ensureTimer(): void {
    if (this.#timer) return;
    const meter = this.#opts.meter;
    const draw = () => this.#draw(false);
    this.#timer = setInterval(meter ? () => meter.run(draw) : draw, this.#opts.redrawMs ?? 100);
    this.#timer.unref();
  }

  #width(): number {
    return Math.max(20, (this.#opts.columns ?? this.#out.columns ?? 80) - 1);
  }

  /** One frame: clear the live area, print newly finished lines, draw the live area again. */
  #draw(final: boolean): void {
    if (!this.#dirty && this.#running.size === 0 && !final) return;
    this.#dirty = false;
    const width = this.#width();
    let frame = this.#liveHeight > 0 ? `\r\x1b[${this.#liveHeight}A\x1b[J` : "";
    for (const line of this.#pending) frame += `${clip(line, width)}\n`;
    this.#pending = [];
    const live = final ? [] : this.#liveLines(width);
    if (final) {
      const total = this.#steps.size;
      frame += `${clip(`[+] Building ${formatSeconds(Date.now() - this.#start)} (${total}/${total}) FINISHED`, width)}\n`;
    }
    for (const line of live) frame += `${line}\n`;
    this.#liveHeight = live.length;
    this.#out.write(frame);
  }

  #liveLines(width: number): string[] {
    const now = Date.now();
    const finished = this.#steps.size - this.#running.size;
    const lines = [
      clip(`[+] Building ${formatSeconds(now - this.#start)} (${finished}/${this.#steps.size})`, width),
    ];
    for (const id of this.#running) {
      const s = this.#steps.get(id)!;
      lines.push(padRight(` => ${s.name}`, formatSeconds(now - s.start), width));
      for (const [digest, t] of s.transfers) {
        const size = `${formatBytes(t.transferred)}${t.total !== undefined ? ` / ${formatBytes(t.total)}` : ""}`;
        lines.push(padRight(` => => ${shortDigest(digest)} ${size}`, formatSeconds(now - t.start), width));
      }
      for (const log of tail(s.logs, TAIL)) lines.push(clip(` => => # ${log}`, width));
    }
    return lines;
  }

  #collapsed(s: StepView): string {
    const label =
      s.status === "cached"
        ? "CACHED "
        : s.status === "error"
          ? "ERROR "
          : s.status === "canceled"
            ? "CANCELED "
            : "";
    return padRight(` => ${label}${s.name}`, formatSeconds((s.end ?? Date.now()) - s.start), this.#width());
  }
}

/** The last `n` lines of a step's log chunks (each its lines joined by `\n`), in order. */
function tail(chunks: readonly string[], n: number): string[] {
  const out: string[] = [];
  for (let c = chunks.length - 1; c >= 0 && out.length < n; c--) {
    const chunk = chunks[c]!;
    let end = chunk.length;
    while (out.length < n) {
      const nl = end === 0 ? -1 : chunk.lastIndexOf("\n", end - 1);
      out.push(chunk.slice(nl + 1, end));
      if (nl < 0) break;
      end = nl;
    }
  }
  return out.reverse();
}

/** Cuts a line to the terminal width (so a frame's height is its line count); tabs and control characters become spaces. */
function clip(line: string, width: number): string {
  const clean = line.replace(/[\x00-\x1f\x7f]/g, " ");
  return clean.length > width ? `${clean.slice(0, width - 1)}…` : clean;
}

/** `left` and `right` on one line of `width`, right aligned, `left` clipped to fit. */
function padRight(left: string, right: string, width: number): string {
  const room = width - right.length - 1;
  const l = clip(left, Math.max(room, 10));
  return `${l}${" ".repeat(Math.max(1, width - l.length - right.length))}${right}`;
}
