/**
 * The base class of every error molt throws. Each subclass names one condition and carries a
 * stable `code` (`MOLT_…`) that callers can switch on; the original error stays in `cause`.
 *
 * @example
 * ```ts
 * try { await build(opts) } catch (e) { if (e instanceof MoltError) console.error(e.code, e.message) }
 * ```
 */
export class MoltError extends Error {
  /** Stable machine-readable code, e.g. `MOLT_DIGEST_MISMATCH`. */
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** A digest string is malformed or uses an unsupported algorithm. */
export class InvalidDigestError extends MoltError {
  /** The text that failed to parse. */
  readonly value: string;
  constructor(value: string) {
    super("MOLT_INVALID_DIGEST", `invalid digest "${value}"`);
    this.value = value;
  }
}

/** Content did not hash to the digest it was announced with. */
export class DigestMismatchError extends MoltError {
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

/** An image reference (`name[:tag][@digest]`) is not valid. */
export class InvalidReferenceError extends MoltError {
  /** The reference text as given. */
  readonly reference: string;
  constructor(reference: string, reason: string) {
    super("MOLT_INVALID_REFERENCE", `invalid image reference "${reference}": ${reason}`);
    this.reference = reference;
  }
}

/** A JSON document (manifest, config, index) does not have the shape the spec requires. */
export class InvalidDocumentError extends MoltError {
  constructor(what: string, reason: string) {
    super("MOLT_INVALID_DOCUMENT", `invalid ${what}: ${reason}`);
  }
}
