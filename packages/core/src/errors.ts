import { MoltError } from "@molt/oci";
import type { CoreErrorCode } from "./error-codes.js";

/** Where in a Dockerfile an error happened. */
export interface ErrorLocation {
  file: string;
  line: number;
  column: number;
}

/**
 * A build step failed; names the Dockerfile location of the instruction. The family of every
 * located step error: each condition is its own subclass with one `code` (`catch (e) { if (e
 * instanceof BuildStepError) … }` catches them all).
 */
export abstract class BuildStepError<C extends CoreErrorCode = CoreErrorCode> extends MoltError<C> {
  /** The instruction's location, when known. */
  readonly location: ErrorLocation | undefined;
  constructor(code: C, message: string, location?: ErrorLocation, options?: { cause?: unknown }) {
    super(
      code,
      location ? `${location.file}:${location.line}:${location.column}: ${message}` : message,
      options,
    );
    this.location = location;
  }
}

/** A file a COPY/ADD names is not in the build context. */
export class SourceNotFoundError extends BuildStepError<"MOLT_COPY_SOURCE_NOT_FOUND"> {
  /** The source as written (after expansion). */
  readonly source: string;
  constructor(source: string, location?: ErrorLocation, where = "the build context") {
    super("MOLT_COPY_SOURCE_NOT_FOUND", `COPY failed: "${source}" not found in ${where}`, location);
    this.source = source;
  }
}

/** A `# check=error=true` directive found lint violations (`MOLT_CHECK_FAILED`). */
export class CheckFailedError extends BuildStepError<"MOLT_CHECK_FAILED"> {
  constructor(message: string, location?: ErrorLocation, options?: { cause?: unknown }) {
    super("MOLT_CHECK_FAILED", message, location, options);
  }
}

/** `ADD --checksum` names a source that is not a URL (`MOLT_ADD_CHECKSUM_LOCAL`). */
export class AddChecksumLocalError extends BuildStepError<"MOLT_ADD_CHECKSUM_LOCAL"> {
  constructor(message: string, location?: ErrorLocation, options?: { cause?: unknown }) {
    super("MOLT_ADD_CHECKSUM_LOCAL", message, location, options);
  }
}

/** A URL's content does not match `ADD --checksum` (`MOLT_ADD_CHECKSUM`). */
export class AddChecksumError extends BuildStepError<"MOLT_ADD_CHECKSUM"> {
  constructor(message: string, location?: ErrorLocation, options?: { cause?: unknown }) {
    super("MOLT_ADD_CHECKSUM", message, location, options);
  }
}

/** `ADD` could not download a URL (`MOLT_ADD_DOWNLOAD`). */
export class AddDownloadError extends BuildStepError<"MOLT_ADD_DOWNLOAD"> {
  constructor(message: string, location?: ErrorLocation, options?: { cause?: unknown }) {
    super("MOLT_ADD_DOWNLOAD", message, location, options);
  }
}

/** `ADD` could not fetch a git source (`MOLT_ADD_GIT_FAILED`). */
export class AddGitFailedError extends BuildStepError<"MOLT_ADD_GIT_FAILED"> {
  constructor(message: string, location?: ErrorLocation, options?: { cause?: unknown }) {
    super("MOLT_ADD_GIT_FAILED", message, location, options);
  }
}

/** `ADD` names a URL of a scheme molt cannot fetch (`MOLT_UNSUPPORTED`). */
export class UnsupportedUrlSchemeError extends BuildStepError<"MOLT_UNSUPPORTED"> {
  constructor(message: string, location?: ErrorLocation, options?: { cause?: unknown }) {
    super("MOLT_UNSUPPORTED", message, location, options);
  }
}

/** The instruction is not supported by this build of molt (`MOLT_UNSUPPORTED_INSTRUCTION`). */
export class UnsupportedInstructionError extends BuildStepError<"MOLT_UNSUPPORTED_INSTRUCTION"> {
  constructor(message: string, location?: ErrorLocation, options?: { cause?: unknown }) {
    super("MOLT_UNSUPPORTED_INSTRUCTION", message, location, options);
  }
}

/** A `--chmod` value is neither an octal nor a symbolic mode (`MOLT_INVALID_CHMOD`). */
export class InvalidChmodError extends BuildStepError<"MOLT_INVALID_CHMOD"> {
  constructor(message: string, location?: ErrorLocation, options?: { cause?: unknown }) {
    super("MOLT_INVALID_CHMOD", message, location, options);
  }
}

/** `EXPOSE` names an invalid port or port range (`MOLT_INVALID_PORT`). */
export class InvalidPortError extends BuildStepError<"MOLT_INVALID_PORT"> {
  constructor(message: string, location?: ErrorLocation, options?: { cause?: unknown }) {
    super("MOLT_INVALID_PORT", message, location, options);
  }
}

/** `STOPSIGNAL` names an invalid signal (`MOLT_INVALID_SIGNAL`). */
export class InvalidSignalError extends BuildStepError<"MOLT_INVALID_SIGNAL"> {
  constructor(message: string, location?: ErrorLocation, options?: { cause?: unknown }) {
    super("MOLT_INVALID_SIGNAL", message, location, options);
  }
}

/** A COPY/ADD destination must be a directory (several sources, or a file onto `/`) (`MOLT_COPY_DEST_NOT_DIR`). */
export class CopyDestNotDirError extends BuildStepError<"MOLT_COPY_DEST_NOT_DIR"> {
  constructor(message: string, location?: ErrorLocation, options?: { cause?: unknown }) {
    super("MOLT_COPY_DEST_NOT_DIR", message, location, options);
  }
}

/** A file of a COPY/ADD lands where the image has a directory (`MOLT_COPY_ONTO_DIR`). */
export class CopyOntoDirError extends BuildStepError<"MOLT_COPY_ONTO_DIR"> {
  constructor(message: string, location?: ErrorLocation, options?: { cause?: unknown }) {
    super("MOLT_COPY_ONTO_DIR", message, location, options);
  }
}

/** A directory of a COPY/ADD lands where the image has a file or symlink (`MOLT_COPY_ONTO_NON_DIR`). */
export class CopyOntoNonDirError extends BuildStepError<"MOLT_COPY_ONTO_NON_DIR"> {
  constructor(message: string, location?: ErrorLocation, options?: { cause?: unknown }) {
    super("MOLT_COPY_ONTO_NON_DIR", message, location, options);
  }
}

/** `COPY --from` names a stage that is not built before this one (`MOLT_COPY_FROM_STAGE`). */
export class CopyFromStageError extends BuildStepError<"MOLT_COPY_FROM_STAGE"> {
  constructor(message: string, location?: ErrorLocation, options?: { cause?: unknown }) {
    super("MOLT_COPY_FROM_STAGE", message, location, options);
  }
}

/** A RUN command contains a NUL byte (`MOLT_RUN_NUL_BYTE`). */
export class RunNulByteError extends BuildStepError<"MOLT_RUN_NUL_BYTE"> {
  constructor(message: string, location?: ErrorLocation, options?: { cause?: unknown }) {
    super("MOLT_RUN_NUL_BYTE", message, location, options);
  }
}

/** A RUN argument is over the kernel's limit for one argument (`MOLT_RUN_TOO_LONG`). */
export class RunArgumentTooLongError extends BuildStepError<"MOLT_RUN_TOO_LONG"> {
  constructor(message: string, location?: ErrorLocation, options?: { cause?: unknown }) {
    super("MOLT_RUN_TOO_LONG", message, location, options);
  }
}

/** An instruction other than RUN contains a NUL byte (`MOLT_DOCKERFILE_NUL_BYTE`). */
export class InstructionNulByteError extends BuildStepError<"MOLT_DOCKERFILE_NUL_BYTE"> {
  constructor(message: string, location?: ErrorLocation, options?: { cause?: unknown }) {
    super("MOLT_DOCKERFILE_NUL_BYTE", message, location, options);
  }
}

/** A build arg's name or value contains a NUL byte (`MOLT_BUILD_ARG_NUL_BYTE`). */
export class BuildArgNulByteError extends BuildStepError<"MOLT_BUILD_ARG_NUL_BYTE"> {
  constructor(message: string, location?: ErrorLocation, options?: { cause?: unknown }) {
    super("MOLT_BUILD_ARG_NUL_BYTE", message, location, options);
  }
}

/** The build options are inconsistent (e.g. no output at all). */
export class InvalidBuildOptionsError extends MoltError<"MOLT_INVALID_OPTIONS"> {
  constructor(message: string) {
    super("MOLT_INVALID_OPTIONS", message);
  }
}

/** The build was aborted through its AbortSignal. */
export class BuildAbortedError extends MoltError<"MOLT_ABORTED"> {
  constructor(options?: { cause?: unknown }) {
    super("MOLT_ABORTED", "build aborted", options);
  }
}

/** Turns a signal's abort into a {@link BuildAbortedError}. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new BuildAbortedError({ cause: signal.reason });
}
