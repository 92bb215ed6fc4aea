/** The streams and directory a CLI command works with (injectable for tests and embedding). */
export interface CommandIO {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  cwd: string;
}

/** A usage error: bad flags or arguments. The CLI prints it with a usage line and exits 2. */
export class UsageError extends Error {
  readonly code = "MOLT_USAGE";
  constructor(
    message: string,
    readonly usage: string,
  ) {
    super(message);
  }
}
