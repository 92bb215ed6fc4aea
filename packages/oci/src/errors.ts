/**
 * The base class of every error molt throws. Each subclass names one condition and carries a
 * stable `code` (`MOLT_…`) that callers can switch on; the original error stays in `cause`.
 * Abstract: an error is always made as the class of its condition.
 *
 * @example
 * ```ts
 * try { await build(opts) } catch (e) { if (e instanceof MoltError) console.error(e.code, e.message) }
 * ```
 */
export abstract class MoltError<C extends string = string> extends Error {
  /**
   * Stable machine-readable code, e.g. `MOLT_DIGEST_MISMATCH`: one of its package's union
   * (`OciErrorCode`, `CoreErrorCode`, …; `MoltErrorCode` in `molt` is all of them).
   */
  readonly code: C;

  constructor(code: C, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** A digest string is malformed or uses an unsupported algorithm. */
export class InvalidDigestError extends MoltError<"MOLT_INVALID_DIGEST"> {
  /** The text that failed to parse. */
  readonly value: string;
  constructor(value: string) {
    super("MOLT_INVALID_DIGEST", `invalid digest "${value}"`);
    this.value = value;
  }
}

/** Content did not hash to the digest it was announced with. */
export class DigestMismatchError extends MoltError<"MOLT_DIGEST_MISMATCH"> {
  /** The digest the content was expected to have. */
  readonly expected: string;
  /** The digest the content actually has. */
  readonly actual: string;
  constructor(expected: string, actual: string, what = "content") {
    super("MOLT_DIGEST_MISMATCH", `${what} has digest ${actual}, expected ${expected}`);
    this.expected = expected;
    this.actual = actual;
  }
}

/**
 * A blob's byte count differs from the size its descriptor announces (the digest was then not
 * even computed): the source sent more bytes than announced, or ended early.
 */
export class BlobSizeMismatchError extends MoltError<"MOLT_BLOB_SIZE_MISMATCH"> {
  /** The digest of the blob, as its descriptor names it. */
  readonly digest: string;
  /** The size the descriptor announces. */
  readonly expected: number;
  /** The bytes received (for "more", the count at which reading stopped). */
  readonly actual: number;
  constructor(what: string, digest: string, expected: number, actual: number) {
    const got =
      actual > expected
        ? `more than the ${expected} bytes its descriptor announces`
        : `${actual} bytes, but its descriptor announces ${expected}`;
    super("MOLT_BLOB_SIZE_MISMATCH", `${what} ${digest}: received ${got}`);
    this.digest = digest;
    this.expected = expected;
    this.actual = actual;
  }
}

/** An image reference (`name[:tag][@digest]`) is not valid. */
export class InvalidReferenceError extends MoltError<"MOLT_INVALID_REFERENCE"> {
  /** The reference text as given. */
  readonly reference: string;
  constructor(reference: string, reason: string) {
    super("MOLT_INVALID_REFERENCE", `invalid image reference "${reference}": ${reason}`);
    this.reference = reference;
  }
}

/** A JSON document (manifest, config, index) does not have the shape the spec requires. */
export class InvalidDocumentError extends MoltError<"MOLT_INVALID_DOCUMENT"> {
  constructor(what: string, reason: string) {
    super("MOLT_INVALID_DOCUMENT", `invalid ${what}: ${reason}`);
  }
}

/** A compressed blob's decompressor cannot run (e.g. zstd layers without the `zstd` program). */
export class DecompressorUnavailableError extends MoltError<"MOLT_COMPRESSION_UNAVAILABLE"> {
  constructor(program: string, options?: { cause?: unknown }) {
    super("MOLT_COMPRESSION_UNAVAILABLE", `${program} cannot run`, options);
  }
}

/** A compressed blob could not be decompressed (the decompressor failed). */
export class DecompressionFailedError extends MoltError<"MOLT_DECOMPRESSION_FAILED"> {
  constructor(message: string) {
    super("MOLT_DECOMPRESSION_FAILED", message);
  }
}

/** A file written into a tar had another size than its header says. */
export class TarEntrySizeError extends MoltError<"MOLT_SIZE_MISMATCH"> {
  constructor(name: string, got: number, expected: number) {
    super("MOLT_SIZE_MISMATCH", `${name}: got ${got} bytes, expected ${expected}`);
  }
}
