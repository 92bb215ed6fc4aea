import { MoltError } from "@molt/oci";
import type { CoreErrorCode } from "./error-codes.js";

/** Where in a Dockerfile an error happened. */
export interface ErrorLocation {
  file: string;
  line: number;
  column: number;
}

/** A build step failed; names the Dockerfile location of the instruction. */
export class BuildStepError extends MoltError<CoreErrorCode> {
  /** The instruction's location, when known. */
  readonly location: ErrorLocation | undefined;
  constructor(code: CoreErrorCode, message: string, location?: ErrorLocation, options?: { cause?: unknown }) {
    super(
      code,
      location ? `${location.file}:${location.line}:${location.column}: ${message}` : message,
      options,
    );
    this.location = location;
  }
}

/** A file a COPY/ADD names is not in the build context. */
export class SourceNotFoundError extends BuildStepError {
  /** The source as written (after expansion). */
  readonly source: string;
  constructor(source: string, location?: ErrorLocation, where = "the build context") {
    super("MOLT_COPY_SOURCE_NOT_FOUND", `COPY failed: "${source}" not found in ${where}`, location);
    this.source = source;
  }
}

/** The build options are inconsistent (e.g. no output at all). */
export class InvalidBuildOptionsError extends MoltError<CoreErrorCode> {
  constructor(message: string) {
    super("MOLT_INVALID_OPTIONS", message);
  }
}

/** The build was aborted through its AbortSignal. */
export class BuildAbortedError extends MoltError<CoreErrorCode> {
  constructor(options?: { cause?: unknown }) {
    super("MOLT_ABORTED", "build aborted", options);
  }
}

/** Turns a signal's abort into a {@link BuildAbortedError}. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new BuildAbortedError({ cause: signal.reason });
}
