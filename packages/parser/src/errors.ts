import { MoltError } from "@molt/oci";
import type { SourceLocation } from "./location.js";

/** Stable codes of {@link DockerfileError}: one per subclass. */
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
 * offending text, and renders a BuildKit-like excerpt of the source with {@link render}. The
 * family of the Dockerfile errors: each condition is its own subclass with one `code`.
 *
 * @example
 * ```ts
 * try { parseDockerfile(text) } catch (e) {
 *   if (e instanceof DockerfileError) process.stderr.write(e.render(text));
 * }
 * ```
 */
export abstract class DockerfileError<
  C extends DockerfileErrorCode = DockerfileErrorCode,
> extends MoltError<C> {
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

  constructor(code: C, reason: string, location: SourceLocation, options?: { cause?: unknown }) {
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

/** The Dockerfile text cannot be split into instructions (reserved: no parser path throws it today) (`MOLT_DOCKERFILE_SYNTAX`). */
export class DockerfileSyntaxError extends DockerfileError<"MOLT_DOCKERFILE_SYNTAX"> {
  constructor(reason: string, location: SourceLocation, options?: { cause?: unknown }) {
    super("MOLT_DOCKERFILE_SYNTAX", reason, location, options);
  }
}

/** A parser directive (`# syntax`, `# escape`, `# check`) is invalid or repeated (`MOLT_DOCKERFILE_DIRECTIVE`). */
export class DockerfileDirectiveError extends DockerfileError<"MOLT_DOCKERFILE_DIRECTIVE"> {
  constructor(reason: string, location: SourceLocation, options?: { cause?: unknown }) {
    super("MOLT_DOCKERFILE_DIRECTIVE", reason, location, options);
  }
}

/** A line starts with a word that is no instruction (`MOLT_DOCKERFILE_UNKNOWN_INSTRUCTION`). */
export class DockerfileUnknownInstructionError extends DockerfileError<"MOLT_DOCKERFILE_UNKNOWN_INSTRUCTION"> {
  constructor(reason: string, location: SourceLocation, options?: { cause?: unknown }) {
    super("MOLT_DOCKERFILE_UNKNOWN_INSTRUCTION", reason, location, options);
  }
}

/** An instruction has the wrong arguments (`MOLT_DOCKERFILE_ARGUMENTS`). */
export class DockerfileArgumentsError extends DockerfileError<"MOLT_DOCKERFILE_ARGUMENTS"> {
  constructor(reason: string, location: SourceLocation, options?: { cause?: unknown }) {
    super("MOLT_DOCKERFILE_ARGUMENTS", reason, location, options);
  }
}

/** An instruction's `--flag` is unknown, repeated or has a bad value (`MOLT_DOCKERFILE_FLAG`). */
export class DockerfileFlagError extends DockerfileError<"MOLT_DOCKERFILE_FLAG"> {
  constructor(reason: string, location: SourceLocation, options?: { cause?: unknown }) {
    super("MOLT_DOCKERFILE_FLAG", reason, location, options);
  }
}

/** A heredoc is not terminated (`MOLT_DOCKERFILE_HEREDOC`). */
export class DockerfileHeredocError extends DockerfileError<"MOLT_DOCKERFILE_HEREDOC"> {
  constructor(reason: string, location: SourceLocation, options?: { cause?: unknown }) {
    super("MOLT_DOCKERFILE_HEREDOC", reason, location, options);
  }
}

/** A variable in an instruction cannot be expanded (`MOLT_DOCKERFILE_EXPANSION`). */
export class DockerfileExpansionError extends DockerfileError<"MOLT_DOCKERFILE_EXPANSION"> {
  constructor(reason: string, location: SourceLocation, options?: { cause?: unknown }) {
    super("MOLT_DOCKERFILE_EXPANSION", reason, location, options);
  }
}

/** An instruction comes before the first FROM, or there is no FROM (`MOLT_DOCKERFILE_NO_STAGE`). */
export class DockerfileNoStageError extends DockerfileError<"MOLT_DOCKERFILE_NO_STAGE"> {
  constructor(reason: string, location: SourceLocation, options?: { cause?: unknown }) {
    super("MOLT_DOCKERFILE_NO_STAGE", reason, location, options);
  }
}

/** A stage name is repeated or a stage index is out of range (`MOLT_DOCKERFILE_STAGE`). */
export class DockerfileStageError extends DockerfileError<"MOLT_DOCKERFILE_STAGE"> {
  constructor(reason: string, location: SourceLocation, options?: { cause?: unknown }) {
    super("MOLT_DOCKERFILE_STAGE", reason, location, options);
  }
}

/** The target stage is not in the Dockerfile (`MOLT_DOCKERFILE_UNKNOWN_TARGET`). */
export class DockerfileUnknownTargetError extends DockerfileError<"MOLT_DOCKERFILE_UNKNOWN_TARGET"> {
  constructor(reason: string, location: SourceLocation, options?: { cause?: unknown }) {
    super("MOLT_DOCKERFILE_UNKNOWN_TARGET", reason, location, options);
  }
}

/** Stages depend on each other in a circle (`MOLT_DOCKERFILE_CYCLE`). */
export class DockerfileCycleError extends DockerfileError<"MOLT_DOCKERFILE_CYCLE"> {
  constructor(reason: string, location: SourceLocation, options?: { cause?: unknown }) {
    super("MOLT_DOCKERFILE_CYCLE", reason, location, options);
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
