/**
 * Every `code` an error of `@molt/oci` can carry (`test/e2e/error-codes.test.ts` checks the
 * source against this list both ways).
 */
export const OCI_ERROR_CODES = [
  "MOLT_BLOB_READ",
  "MOLT_BLOB_SIZE_MISMATCH",
  "MOLT_COMPRESSION_UNAVAILABLE",
  "MOLT_DECOMPRESSION_FAILED",
  "MOLT_DIGEST_MISMATCH",
  "MOLT_INVALID_DIGEST",
  "MOLT_INVALID_DOCUMENT",
  "MOLT_INVALID_IMAGE",
  "MOLT_INVALID_REFERENCE",
  "MOLT_PATH_ESCAPE",
  "MOLT_PATH_LOOP",
  "MOLT_PATH_NOT_DIRECTORY",
  "MOLT_SIZE_MISMATCH",
] as const;

/** A `code` of an error thrown by `@molt/oci`: switch on it. */
export type OciErrorCode = (typeof OCI_ERROR_CODES)[number];
