import { BuildStepError, type ErrorLocation } from "../errors.js";

/** A `RUN --mount` could not be made: a missing source, secret or SSH agent, or a bad target. */
export class MountError extends BuildStepError {
  constructor(
    code: `MOLT_MOUNT_${string}`,
    message: string,
    location?: ErrorLocation,
    options?: { cause?: unknown },
  ) {
    super(code, message, location, options);
  }
}
