import { MoltError } from "@molt/oci";
import { BuildStepError, type ErrorLocation } from "../errors.js";

/**
 * A RUN command exited non-zero: `RUN <command> exited with code 42`, prefixed with the
 * Dockerfile location when given. `command` may be the instruction as written (`RUN …`): a
 * leading `RUN ` is not repeated.
 */
export class RunFailedError extends BuildStepError<"MOLT_RUN_FAILED"> {
  /** The command's exit status. */
  readonly exitCode: number;
  /** The signal that killed it, when known. */
  readonly signal: string | undefined;
  /** The command as shown to the user. */
  readonly command: string;
  /** The process that ran (`/bin/sh -c …`), when known. */
  readonly argv: string[] | undefined;
  constructor(
    command: string,
    exitCode: number,
    location?: ErrorLocation,
    signal?: string,
    argv?: readonly string[],
  ) {
    const shown = /^run\s/i.test(command) ? command.replace(/^run\s+/i, "") : command;
    super(
      "MOLT_RUN_FAILED",
      `RUN ${shown} exited with code ${exitCode}${signal ? ` (killed by ${signal})` : ""}`,
      location ? { file: location.file, line: location.line, column: location.column } : undefined,
    );
    this.exitCode = exitCode;
    this.signal = signal;
    this.command = shown;
    this.argv = argv ? [...argv] : undefined;
  }
}

/** `USER` names a user the image's `/etc/passwd` does not have. */
export class UnknownUserError extends MoltError<"MOLT_UNKNOWN_USER"> {
  /** The user name as given. */
  readonly user: string;
  constructor(user: string, reason = "no such user in the image's /etc/passwd") {
    super("MOLT_UNKNOWN_USER", `unable to find user ${user}: ${reason}`);
    this.user = user;
  }
}

/** `USER x:group` names a group the image's `/etc/group` does not have. */
export class UnknownGroupError extends MoltError<"MOLT_UNKNOWN_GROUP"> {
  /** The group name as given. */
  readonly group: string;
  constructor(group: string, reason = "no such group in the image's /etc/group") {
    super("MOLT_UNKNOWN_GROUP", `unable to find group ${group}: ${reason}`);
    this.group = group;
  }
}

/** No runner (or not the requested one) can work on this host; `reasons` says why. */
export class RunnerUnavailableError extends MoltError<"MOLT_RUNNER_UNAVAILABLE"> {
  /** What was tried and why it failed. */
  readonly reasons: string[];
  constructor(message: string, reasons: string[] = []) {
    super("MOLT_RUNNER_UNAVAILABLE", reasons.length ? `${message}: ${reasons.join("; ")}` : message);
    this.reasons = reasons;
  }
}

/** The in-place runner was asked for without the explicit opt-in. */
export class InPlaceRefusedError extends MoltError<"MOLT_IN_PLACE_REFUSED"> {
  constructor() {
    super(
      "MOLT_IN_PLACE_REFUSED",
      "the in-place runner overwrites / of this machine; it runs only with allowInPlace (a dedicated throwaway container)",
    );
  }
}

/** The spec asks for something this runner cannot do here (e.g. a second uid without newuidmap). */
export class RunUnsupportedError extends MoltError<"MOLT_RUN_UNSUPPORTED"> {
  constructor(message: string) {
    super("MOLT_RUN_UNSUPPORTED", message);
  }
}

/** The runner could not prepare the root (mounts, working directory, tools). */
export class RunnerSetupError extends MoltError<"MOLT_RUNNER_SETUP"> {
  constructor(message: string, options?: { cause?: unknown }) {
    super("MOLT_RUNNER_SETUP", message, options);
  }
}

/** The command ran longer than `timeoutMs` and was killed. */
export class RunTimeoutError extends MoltError<"MOLT_RUN_TIMEOUT"> {
  /** The limit that was exceeded. */
  readonly timeoutMs: number;
  constructor(timeoutMs: number) {
    super("MOLT_RUN_TIMEOUT", `RUN timed out after ${timeoutMs} ms and was killed`);
    this.timeoutMs = timeoutMs;
  }
}

/** The run was aborted through its AbortSignal (the process tree was killed). */
export class RunAbortedError extends MoltError<"MOLT_ABORTED"> {
  constructor(options?: { cause?: unknown }) {
    super("MOLT_ABORTED", "RUN aborted", options);
  }
}
