import { MoltError } from "@molt/oci";

/** A change cannot be written: bad path, missing data source, dangling hardlink, … */
export class InvalidEntryError extends MoltError<"MOLT_INVALID_ENTRY"> {
  /** The in-image path of the offending entry. */
  readonly path: string;
  constructor(path: string, reason: string, options?: { cause?: unknown }) {
    super("MOLT_INVALID_ENTRY", `cannot write layer entry "${path}": ${reason}`, options);
    this.path = path;
  }
}

/** A file's size or type changed between the moment it was listed and the moment it was read. */
export class FileChangedError extends MoltError<"MOLT_FILE_CHANGED"> {
  /** The in-image path of the file. */
  readonly path: string;
  /** Where the bytes were read from, when a file on disk. */
  readonly source: string | undefined;
  constructor(path: string, source: string | undefined, reason: string, options?: { cause?: unknown }) {
    super("MOLT_FILE_CHANGED", `"${path}" changed while it was being written: ${reason}`, options);
    this.path = path;
    this.source = source;
  }
}

/** The requested compression is not available on this machine (e.g. zstd without the `zstd` CLI). */
export class CompressionUnavailableError extends MoltError<"MOLT_COMPRESSION_UNAVAILABLE"> {
  /** The compression that was asked for. */
  readonly compression: string;
  constructor(compression: string, reason: string, options?: { cause?: unknown }) {
    super("MOLT_COMPRESSION_UNAVAILABLE", `${compression} compression is unavailable: ${reason}`, options);
    this.compression = compression;
  }
}

/** A compressor failed while a layer was being written. */
export class CompressionError extends MoltError<"MOLT_COMPRESSION_FAILED"> {
  constructor(reason: string, options?: { cause?: unknown }) {
    super("MOLT_COMPRESSION_FAILED", `compression failed: ${reason}`, options);
  }
}

/** The blob store has no blob with this digest. */
export class BlobNotFoundError extends MoltError<"MOLT_BLOB_NOT_FOUND"> {
  /** The digest that was asked for. */
  readonly digest: string;
  constructor(digest: string, options?: { cause?: unknown }) {
    super("MOLT_BLOB_NOT_FOUND", `blob ${digest} is not in the store`, options);
    this.digest = digest;
  }
}
