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
    let s = this.pending + text;
    for (;;) {
      const nl = s.indexOf("\n");
      if (nl < 0) break;
      this.emitLine(s.slice(0, nl));
      s = s.slice(nl + 1);
    }
    while (s.length > MAX_OUTPUT_CHUNK) {
      this.listener!(this.stream, s.slice(0, MAX_OUTPUT_CHUNK), true);
      s = s.slice(MAX_OUTPUT_CHUNK);
    }
    this.pending = s;
  }

  private emitLine(line: string): void {
    let rest = line;
    while (rest.length > MAX_OUTPUT_CHUNK) {
      this.listener!(this.stream, rest.slice(0, MAX_OUTPUT_CHUNK), true);
      rest = rest.slice(MAX_OUTPUT_CHUNK);
    }
    this.listener!(this.stream, rest);
  }
}
