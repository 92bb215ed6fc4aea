import { StringDecoder } from "node:string_decoder";
import type { OutputListener } from "./types.js";

/** Longest piece of a line handed to `onOutput` in one call (characters); longer lines arrive in chunks. */
export const MAX_OUTPUT_CHUNK = 64 * 1024;

/**
 * Splits a byte stream into lines for an {@link OutputListener}: UTF-8 decoded across chunk
 * boundaries, `\n` removed (a `\r` before it is kept), a line longer than
 * {@link MAX_OUTPUT_CHUNK} delivered in several calls with `partial = true` on all but its last
 * piece, and a last line without `\n` delivered at the end.
 */
export class LineSplitter {
  private readonly decoder = new StringDecoder("utf8");
  private pending = "";
  constructor(
    private readonly stream: "stdout" | "stderr",
    private readonly listener: OutputListener | undefined,
  ) {}

  /** Feeds bytes. */
  write(chunk: Buffer): void {
    if (!this.listener) return;
    this.push(this.decoder.write(chunk));
  }

  /** Flushes the last line. */
  end(): void {
    if (!this.listener) return;
    this.push(this.decoder.end());
    if (this.pending !== "") {
      this.listener(this.stream, this.pending);
      this.pending = "";
    }
  }

  private push(text: string): void {
    const s = this.pending === "" ? text : this.pending + text;
    // Lines are cut out by index: no intermediate rest-of-chunk strings per line.
    let from = 0;
    for (let nl = s.indexOf("\n"); nl >= 0; nl = s.indexOf("\n", from)) {
      this.emitLine(s.slice(from, nl));
      from = nl + 1;
    }
    let rest = from === 0 ? s : s.slice(from);
    while (rest.length > MAX_OUTPUT_CHUNK) {
      this.listener!(this.stream, rest.slice(0, MAX_OUTPUT_CHUNK), true);
      rest = rest.slice(MAX_OUTPUT_CHUNK);
    }
    this.pending = rest;
  }

  private emitLine(line: string): void {
    if (line.length <= MAX_OUTPUT_CHUNK) {
      this.listener!(this.stream, line);
      return;
    }
    let rest = line;
    while (rest.length > MAX_OUTPUT_CHUNK) {
      this.listener!(this.stream, rest.slice(0, MAX_OUTPUT_CHUNK), true);
      rest = rest.slice(MAX_OUTPUT_CHUNK);
    }
    this.listener!(this.stream, rest);
  }
}
