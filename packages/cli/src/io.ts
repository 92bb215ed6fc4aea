import type { CliErrorCode } from "./error-codes.js";

/** The streams and directory a CLI command works with (injectable for tests and embedding). */
export interface CommandIO {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  cwd: string;
}

/** A usage error: bad flags or arguments. The CLI prints it with a usage line and exits 2. */
export class UsageError extends Error {
  readonly code: CliErrorCode = "MOLT_USAGE";
  constructor(
    message: string,
    readonly usage: string,
  ) {
    super(message);
  }
}

/**
 * A failure the command has already reported in its own format (e.g. as the last JSON line of
 * `--progress=json`): the CLI prints nothing more and exits 1 (130 when interrupted).
 */
export class ReportedError extends Error {
  constructor(readonly error: unknown) {
    super(error instanceof Error ? error.message : String(error), { cause: error });
  }
}
