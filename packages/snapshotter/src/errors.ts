import { MoltError } from "@molt/oci";

/**
 * A path would leave the root directory, loops through too many symlinks, or crosses a
 * non-directory. Nothing was written for it.
 */
export class UnsafePathError extends MoltError {
  /** The path as given (tar entry name, link target or caller path). */
  readonly path: string;
  constructor(path: string, reason: string, options?: { cause?: unknown }) {
    super("MOLT_UNSAFE_PATH", `unsafe path "${path}": ${reason}`, options);
    this.path = path;
  }
}

/** A layer could not be applied to the root (corrupt tar, unsupported entry, I/O failure). */
export class ExtractError extends MoltError {
  /** The entry being applied when it failed, when there was one. */
  readonly entry: string | undefined;
  /** Digest of the layer, when the caller gave it. */
  readonly layer: string | undefined;
  constructor(message: string, options?: { entry?: string; layer?: string; cause?: unknown }) {
    super("MOLT_EXTRACT_FAILED", message, options);
    this.entry = options?.entry;
    this.layer = options?.layer;
  }
}

/** A layer's bytes use a compression that cannot be decoded here (e.g. zstd without the `zstd` program). */
export class UnsupportedCompressionError extends MoltError {
  /** The compression that was detected. */
  readonly compression: string;
  constructor(compression: string, reason: string) {
    super("MOLT_UNSUPPORTED_COMPRESSION", `cannot decompress ${compression} layer: ${reason}`);
    this.compression = compression;
  }
}

/**
 * A layer's uncompressed tar does not hash to the `diff_id` the image config gives for it: the
 * config lies about its layers (or the layer is not the one the config was written for).
 */
export class DiffIdMismatchError extends MoltError {
  /** Position of the layer in the image (0 = the lowest). */
  readonly index: number;
  /** The layer's (compressed) digest, when known. */
  readonly layer: string | undefined;
  /** The diff_id the config declares. */
  readonly expected: string;
  /** The sha256 of the uncompressed tar as read. */
  readonly actual: string;
  constructor(index: number, layer: string | undefined, expected: string, actual: string) {
    super(
      "MOLT_DIFFID_MISMATCH",
      `layer ${index + 1}${layer ? ` (${layer})` : ""} does not match its config: diff_id ${expected} declared, uncompressed tar is ${actual}`,
    );
    this.index = index;
    this.layer = layer;
    this.expected = expected;
    this.actual = actual;
  }
}

/** A layer exceeded a limit the caller set (entry count or bytes written). */
export class ExtractLimitError extends MoltError {
  /** Which limit: `entries` or `bytes`. */
  readonly limit: "entries" | "bytes";
  constructor(limit: "entries" | "bytes", max: number) {
    super("MOLT_EXTRACT_LIMIT", `layer exceeds the limit of ${max} ${limit}`);
    this.limit = limit;
  }
}

/** The snapshotter could not take or apply a snapshot (mount failure, step already finished...). */
export class SnapshotError extends MoltError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("MOLT_SNAPSHOT_FAILED", message, options);
  }
}

/** The operation was cancelled through its `AbortSignal`. */
export class AbortedError extends MoltError {
  constructor(options?: { cause?: unknown }) {
    super("MOLT_ABORTED", "operation aborted", options);
  }
}

/** Throws {@link AbortedError} when `signal` is aborted. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new AbortedError({ cause: signal.reason });
}
