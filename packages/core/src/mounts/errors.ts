import { MoltError } from "@molt/oci";
import type { CoreErrorCode } from "../error-codes.js";
import { BuildStepError, type ErrorLocation } from "../errors.js";

/**
 * A `RUN --mount` could not be made: a missing source, secret or SSH agent, or a lock. The
 * family of the mount errors: each condition is its own subclass with one `code`.
 */
export abstract class MountError<
  C extends Extract<CoreErrorCode, `MOLT_MOUNT_${string}`> = Extract<CoreErrorCode, `MOLT_MOUNT_${string}`>,
> extends BuildStepError<C> {
  constructor(code: C, message: string, location?: ErrorLocation, options?: { cause?: unknown }) {
    super(code, message, location, options);
  }
}

/** A `sharing=locked` cache mount could not be locked (`MOLT_MOUNT_LOCK`). */
export class MountLockError extends MountError<"MOLT_MOUNT_LOCK"> {
  constructor(message: string, location?: ErrorLocation, options?: { cause?: unknown }) {
    super("MOLT_MOUNT_LOCK", message, location, options);
  }
}

/** A required secret mount names a secret the build was not given (`MOLT_MOUNT_SECRET_NOT_FOUND`). */
export class MountSecretNotFoundError extends MountError<"MOLT_MOUNT_SECRET_NOT_FOUND"> {
  constructor(message: string, location?: ErrorLocation, options?: { cause?: unknown }) {
    super("MOLT_MOUNT_SECRET_NOT_FOUND", message, location, options);
  }
}

/** An SSH mount names an id the build was given no agent or key for (`MOLT_MOUNT_SSH_NOT_FOUND`). */
export class MountSshNotFoundError extends MountError<"MOLT_MOUNT_SSH_NOT_FOUND"> {
  constructor(message: string, location?: ErrorLocation, options?: { cause?: unknown }) {
    super("MOLT_MOUNT_SSH_NOT_FOUND", message, location, options);
  }
}

/** An SSH mount's agent could not be started or given its keys (`MOLT_MOUNT_SSH`). */
export class MountSshError extends MountError<"MOLT_MOUNT_SSH"> {
  constructor(message: string, location?: ErrorLocation, options?: { cause?: unknown }) {
    super("MOLT_MOUNT_SSH", message, location, options);
  }
}

/** A bind or cache mount's source is not in the context or stage it names (`MOLT_MOUNT_SOURCE_NOT_FOUND`). */
export class MountSourceNotFoundError extends MountError<"MOLT_MOUNT_SOURCE_NOT_FOUND"> {
  constructor(message: string, location?: ErrorLocation, options?: { cause?: unknown }) {
    super("MOLT_MOUNT_SOURCE_NOT_FOUND", message, location, options);
  }
}

/** Pulling or pushing a travelling cache mount (`--cache-mount-repo`) failed. */
export class CacheMountTravelError extends MoltError<"MOLT_CACHE_MOUNT_TRAVEL"> {
  constructor(message: string) {
    super("MOLT_CACHE_MOUNT_TRAVEL", message);
  }
}
