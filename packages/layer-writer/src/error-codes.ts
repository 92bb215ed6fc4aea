/**
 * Every `code` an error of `@molt/layer-writer` can carry (`test/e2e/error-codes.test.ts` checks the
 * source against this list both ways).
 */
export const LAYER_ERROR_CODES = [
  "MOLT_BLOB_NOT_FOUND",
  "MOLT_COMPRESSION_FAILED",
  "MOLT_COMPRESSION_UNAVAILABLE",
  "MOLT_FILE_CHANGED",
  "MOLT_INVALID_ENTRY",
] as const;

/** A `code` of an error thrown by `@molt/layer-writer`: switch on it. */
export type LayerErrorCode = (typeof LAYER_ERROR_CODES)[number];
