import { MoltError } from "@molt/oci";
import type { ParserErrorCode } from "./error-codes.js";
import type { SourceLocation } from "./location.js";

/** Stable codes of {@link DockerfileError}. */
export type DockerfileErrorCode =
  | "MOLT_DOCKERFILE_SYNTAX"
  | "MOLT_DOCKERFILE_DIRECTIVE"
  | "MOLT_DOCKERFILE_UNKNOWN_INSTRUCTION"
  | "MOLT_DOCKERFILE_ARGUMENTS"
  | "MOLT_DOCKERFILE_FLAG"
  | "MOLT_DOCKERFILE_HEREDOC"
  | "MOLT_DOCKERFILE_EXPANSION"
  | "MOLT_DOCKERFILE_NO_STAGE"
  | "MOLT_DOCKERFILE_STAGE"
  | "MOLT_DOCKERFILE_UNKNOWN_TARGET"
  | "MOLT_DOCKERFILE_CYCLE";

/**
 * A Dockerfile is not valid. Carries the file name and the 1-based line and column of the
 * offending text, and renders a BuildKit-like excerpt of the source with {@link render}.
 *
 * @example
 * ```ts
 * try { parseDockerfile(text) } catch (e) {
 *   if (e instanceof DockerfileError) process.stderr.write(e.render(text));
 * }
 * ```
 */
export class DockerfileError extends MoltError<ParserErrorCode> {
  /** File name as given to the parser. */
  readonly file: string;
  /** 1-based line of the offending text. */
  readonly line: number;
  /** 1-based column of the offending text. */
  readonly column: number;
  /** Full range of the offending text. */
  readonly location: SourceLocation;
  /** The message without the `file:line:column` prefix. */
  readonly reason: string;

  constructor(
    code: DockerfileErrorCode,
    reason: string,
    location: SourceLocation,
    options?: { cause?: unknown },
  ) {
    super(code, `${location.file}:${location.line}:${location.column}: ${reason}`, options);
    this.file = location.file;
    this.line = location.line;
    this.column = location.column;
    this.location = location;
    this.reason = reason;
  }

  /**
   * Renders the error the way BuildKit does: the message, then the numbered lines of the
   * instruction around the error with `>>>` marking the offending lines.
   *
   * @param text The Dockerfile text the error was raised for.
   * @param context How many lines to show before and after the offending range (default 2).
   */
  render(text: string, context = 2): string {
    return renderExcerpt(text, this.location, this.message, context);
  }
}

/**
 * Formats `message` followed by a numbered excerpt of `text` around `location`, with `>>>`
 * on the lines of the range and a caret under the start column of a one-line range.
 */
export function renderExcerpt(text: string, location: SourceLocation, message: string, context = 2): string {
  const lines = text.replace(/^\uFEFF/, "").split(/\r?\n/);
  if (lines.length > 1 && lines[lines.length - 1] === "") lines.pop();
  const first = Math.max(1, location.line - context);
  const last = Math.min(lines.length, Math.max(location.endLine, location.line) + context);
  const width = String(last).length;
  const out: string[] = [message, "", "--------------------"];
  for (let n = first; n <= last; n++) {
    const inRange = n >= location.line && n <= Math.max(location.endLine, location.line);
    const marker = inRange ? ">>>" : "   ";
    out.push(` ${marker} ${String(n).padStart(width)} | ${lines[n - 1] ?? ""}`);
  }
  out.push("--------------------");
  return `${out.join("\n")}\n`;
}
