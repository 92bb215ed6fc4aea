import type { BuildProgressEvent, StepId } from "../events.js";

type LogEvent = Extract<BuildProgressEvent, { type: "molt:step:log" }>;

/**
 * Gathers a RUN's output lines into `molt:step:log` events, one per output chunk: the lines a
 * pipe read gives arrive in one synchronous burst (the runner's line splitter calls back once
 * per line), and are sent as one event in a microtask after it, so a step printing 100,000
 * lines makes a few dozen events, not 100,000. A change of stream ends the batch (order kept),
 * and so does a piece of a long line (`partial`: it is the batch's last entry).
 */
export class LogBatcher {
  #stream: "stdout" | "stderr" = "stdout";
  #lines: string[] = [];
  #scheduled = false;
  readonly #flush = () => this.flush();

  constructor(
    private readonly step: StepId,
    private readonly emit: (e: LogEvent) => void,
  ) {}

  /** One line (or a piece of one) from the runner's `onOutput`. */
  add(stream: "stdout" | "stderr", line: string, partial?: boolean): void {
    if (this.#lines.length > 0 && stream !== this.#stream) this.flush();
    this.#stream = stream;
    this.#lines.push(line);
    if (partial) this.#send(true);
    else if (!this.#scheduled) {
      this.#scheduled = true;
      queueMicrotask(this.#flush);
    }
  }

  /** Sends what is gathered (called after the burst, and once more when the command ended). */
  flush(): void {
    this.#scheduled = false;
    if (this.#lines.length > 0) this.#send(false);
  }

  #send(partial: boolean): void {
    const lines = this.#lines;
    this.#lines = [];
    this.emit(
      partial
        ? { type: "molt:step:log", step: this.step, stream: this.#stream, lines, partial }
        : { type: "molt:step:log", step: this.step, stream: this.#stream, lines },
    );
  }
}
