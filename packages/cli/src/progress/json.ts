import { type BuildProgressEvent, EVENTS_VERSION } from "@molt/core";
import { atLeast } from "./levels.js";
import { BatchedWriter, type DisplayOptions, type Output, type Renderer } from "./renderer.js";

/** Events only shown from `-v trace` on: the frequent byte counters. */
const TRACE_ONLY = new Set<string>([
  "molt:layer:progress",
  "molt:snapshot:extract-progress",
  "molt:layer:planned",
]);

/**
 * `--progress=json`: one JSON object per event per line, `{"v":1,"time":"…","type":"molt:…",…}`
 * with the event's own fields (the union documented in `@molt/core`'s events module). `v` is
 * the version of that model; a failed build ends with a `molt:build:error` line.
 */
export class JsonRenderer implements Renderer {
  readonly #out: BatchedWriter;
  readonly #opts: DisplayOptions;

  constructor(out: Output, opts: DisplayOptions) {
    this.#out = new BatchedWriter(out);
    this.#opts = opts;
  }

  event(e: BuildProgressEvent): void {
    const { level } = this.#opts;
    if (!atLeast(level, "info") && e.type !== "molt:step:error" && e.type !== "molt:build:warning") return;
    if (!atLeast(level, "trace") && TRACE_ONLY.has(e.type)) return;
    this.#write(e);
  }

  end(outcome: { error?: unknown }): void {
    if (outcome.error !== undefined) {
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
    this.#out.write(`${JSON.stringify({ v: EVENTS_VERSION, time: new Date().toISOString(), ...e })}\n`);
  }
}
