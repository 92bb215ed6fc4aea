import { MoltError } from "@molt/oci";

/**
 * A path would leave the root directory, loops through too many symlinks, or crosses a
 * non-directory. Nothing was written for it.
 */
export class UnsafePathError extends MoltError<"MOLT_UNSAFE_PATH"> {
  /** The path as given (tar entry name, link target or caller path). */
  readonly path: string;
  constructor(path: string, reason: string, options?: { cause?: unknown }) {
    super("MOLT_UNSAFE_PATH", `unsafe path "${path}": ${reason}`, options);
    this.path = path;
  }
}

/** A layer could not be applied to the root (corrupt tar, unsupported entry, I/O failure). */
export class ExtractError extends MoltError<"MOLT_EXTRACT_FAILED"> {
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
export class UnsupportedCompressionError extends MoltError<"MOLT_UNSUPPORTED_COMPRESSION"> {
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
export class DiffIdMismatchError extends MoltError<"MOLT_DIFFID_MISMATCH"> {
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

/** Which {@link ExtractLimits} field was reached. */
export type ExtractLimitKind = "entries" | "bytes" | "fileBytes";

/**
 * Extracting would exceed a limit the caller set (entry count, total bytes, or one file's size):
 * a tar bomb, or an image larger than allowed. The offending file is not written.
 */
export class ExtractLimitError extends MoltError<"MOLT_EXTRACT_LIMIT"> {
  /** Which limit: `entries`, `bytes` (total) or `fileBytes` (one file). */
  readonly limit: ExtractLimitKind;
  /** The limit's value. */
  readonly max: number;
  /** The entry that would have crossed it. */
  readonly entry: string | undefined;
  /** Digest of the layer, when the caller gave it. */
  readonly layer: string | undefined;
  constructor(
    limit: ExtractLimitKind,
    max: number,
    where: { entry?: string; layer?: string; index?: number } = {},
  ) {
    const what =
      limit === "entries"
        ? `more than ${max} entries`
        : limit === "bytes"
          ? `more than ${formatBytes(max)} in total`
          : `a file larger than ${formatBytes(max)}`;
    const layer =
      where.index !== undefined
        ? `layer ${where.index + 1}${where.layer ? ` (${where.layer})` : ""}`
        : "layer";
    super(
      "MOLT_EXTRACT_LIMIT",
      `${layer}${where.entry ? ` at "${where.entry}"` : ""}: extracting would write ${what} (the ${limit === "entries" ? "entry" : "size"} limit; raise it or turn limits off)`,
    );
    this.limit = limit;
    this.max = max;
    this.entry = where.entry;
    this.layer = where.layer;
  }
}

/** `1536` → `"1.5 KiB"`; exact byte counts below 1 KiB. */
export function formatBytes(n: number): string {
  const units = ["bytes", "KiB", "MiB", "GiB", "TiB"];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${n} bytes` : `${Number.isInteger(v) ? v : v.toFixed(1)} ${units[u]}`;
}

/** The snapshotter could not take or apply a snapshot (mount failure, step already finished...). */
export class SnapshotError extends MoltError<"MOLT_SNAPSHOT_FAILED"> {
  constructor(message: string, options?: { cause?: unknown }) {
    super("MOLT_SNAPSHOT_FAILED", message, options);
  }
}

/** The operation was cancelled through its `AbortSignal`. */
export class AbortedError extends MoltError<"MOLT_ABORTED"> {
  constructor(options?: { cause?: unknown }) {
    super("MOLT_ABORTED", "operation aborted", options);
  }
}

/** Throws {@link AbortedError} when `signal` is aborted. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new AbortedError({ cause: signal.reason });
}
