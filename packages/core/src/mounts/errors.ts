import { MoltError } from "@molt/oci";
import type { CoreErrorCode } from "../error-codes.js";
import { BuildStepError, type ErrorLocation } from "../errors.js";

/** A `RUN --mount` could not be made: a missing source, secret or SSH agent, or a bad target. */
export class MountError extends BuildStepError {
  constructor(
    code: Extract<CoreErrorCode, `MOLT_MOUNT_${string}`>,
    message: string,
    location?: ErrorLocation,
    options?: { cause?: unknown },
  ) {
    super(code, message, location, options);
  }
}

/** Pulling or pushing a travelling cache mount (`--cache-mount-repo`) failed. */
export class CacheMountTravelError extends MoltError<CoreErrorCode> {
  constructor(message: string) {
    super("MOLT_CACHE_MOUNT_TRAVEL", message);
  }
}
