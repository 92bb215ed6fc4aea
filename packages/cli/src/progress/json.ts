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
 * `--progress=json`: one JSON object per event per line, `{"v":1,"time":"…","type":"molt:…",…}`
 * with the event's own fields (the union documented in `@molt/core`'s events module). `v` is
 * the version of that model; a failed build ends with a `molt:build:error` line.
 */
export class JsonRenderer implements Renderer {
  readonly #out: BatchedWriter;
  readonly #clock = new BurstClock();
  readonly #info: boolean;
  readonly #trace: boolean;
  /** `{"v":1,"time":"` — every line's start. */
  readonly #head = `{"v":${JSON.stringify(EVENTS_VERSION)},"time":"`;
  /** Everything of a log line's JSON before the line itself, for the last step and stream logged. */
  #logHead = { time: "", step: -1, stream: "", text: "" };

  constructor(out: Output, opts: DisplayOptions) {
    this.#out = new BatchedWriter(out);
    this.#info = atLeast(opts.level, "info");
    this.#trace = atLeast(opts.level, "trace");
  }

  event(e: BuildProgressEvent): void {
    if (!this.#info && e.type !== "molt:step:error" && e.type !== "molt:build:warning") return;
    if (e.type === "molt:step:log") {
      // The hot path (a step may print 100,000 lines): the text the general path writes for the
      // event core emits (fields in the union's order); everything before the line is the same
      // for a burst of lines of one step and stream, so only the line goes through JSON.stringify.
      const time = this.#clock.iso();
      const c = this.#logHead;
      if (c.time !== time || c.step !== e.step || c.stream !== e.stream) {
        this.#logHead = {
          time,
          step: e.step,
          stream: e.stream,
          text: `${this.#head}${time}","type":"molt:step:log","step":${e.step},"stream":${JSON.stringify(e.stream)},"line":`,
        };
      }
      this.#out.write(
        e.partial
          ? `${this.#logHead.text}${JSON.stringify(e.line)},"partial":true}\n`
          : `${this.#logHead.text}${JSON.stringify(e.line)}}\n`,
      );
      return;
    }
    if (!this.#trace && TRACE_ONLY.has(e.type)) return;
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
    // `{"v":…,"time":…,` then the event's own fields: the same text as stringifying
    // `{ v, time, ...e }` (the event has no `v` or `time` of its own), without copying it.
    const body = JSON.stringify(e);
    this.#out.write(`${this.#head}${this.#clock.iso()}"${body === "{}" ? "}" : `,${body.slice(1)}`}\n`);
  }
}
