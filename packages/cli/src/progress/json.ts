import { type BuildProgressEvent, EVENTS_VERSION } from "@molt/core";
import { atLeast } from "./levels.js";
import { BatchedWriter, BurstClock, type DisplayOptions, type Output, type Renderer } from "./renderer.js";

/** Events only shown from `-v trace` on: the frequent byte counters. */
const TRACE_ONLY = new Set<string>([
  "molt:layer:progress",
  "molt:snapshot:extract-progress",
  "molt:layer:planned",
]);

/**
 * `--progress=json`: one JSON object per event per line, `{"v":2,"time":"…","type":"molt:…",…}`
 * with the event's own fields (the union documented in `@molt/core`'s events module). `v` is
 * the version of that model; a failed build ends with a `molt:build:error` line. The log lines
 * of one output chunk are one line, `"lines":[…]` (version 2).
 */
export class JsonRenderer implements Renderer {
  readonly #out: BatchedWriter;
  readonly #clock = new BurstClock();
  readonly #info: boolean;
  readonly #trace: boolean;
  /** A `molt:build:error` came from the build itself (so {@link end} does not write a second). */
  #errorSent = false;
  /** `{"v":2,"time":"` — every line's start. */
  readonly #head = `{"v":${JSON.stringify(EVENTS_VERSION)},"time":"`;

  constructor(out: Output, opts: DisplayOptions) {
    this.#out = new BatchedWriter(out, opts.meter);
    this.#info = atLeast(opts.level, "info");
    this.#trace = atLeast(opts.level, "trace");
  }

  event(e: BuildProgressEvent): void {
    if (
      !this.#info &&
      e.type !== "molt:step:error" &&
      e.type !== "molt:build:error" &&
      e.type !== "molt:build:warning"
    )
      return;
    if (e.type === "molt:step:log") {
      // One output chunk's lines (a few dozen events for 100,000 lines): the text the general
      // path writes (fields in the union's order), only the lines through JSON.stringify.
      const lines = JSON.stringify(e.lines);
      this.#out.write(
        `${this.#head}${this.#clock.iso()}","type":"molt:step:log","step":${e.step},"stream":"${e.stream}","lines":${lines}${e.partial ? ',"partial":true}\n' : "}\n"}`,
      );
      return;
    }
    if (!this.#trace && TRACE_ONLY.has(e.type)) return;
    if (e.type === "molt:build:error") this.#errorSent = true;
    this.#write(e);
  }

  end(outcome: { error?: unknown }): void {
    // An error before the build started (bad options) has no event of the build's own.
    if (outcome.error !== undefined && !this.#errorSent) {
      const err = outcome.error;
      const code = (err as { code?: unknown }).code;
      this.#write({
        type: "molt:build:error",
        message: err instanceof Error ? err.message : String(err),
        ...(typeof code === "string" ? { code } : {}),
      });
    }
    this.#out.flush();
  }

  #write(e: BuildProgressEvent | { type: "molt:build:error"; message: string; code?: string }): void {
    // `{"v":…,"time":…,` then the event's own fields: the same text as stringifying
    // `{ v, time, ...e }` (the event has no `v` or `time` of its own), without copying it.
    const body = JSON.stringify(e);
    this.#out.write(`${this.#head}${this.#clock.iso()}"${body === "{}" ? "}" : `,${body.slice(1)}`}\n`);
  }
}
