/**
 * Every `code` an error of `@molt/context-source` can carry (`test/e2e/error-codes.test.ts` checks the
 * source against this list both ways).
 */
export const CONTEXT_ERROR_CODES = [
  "MOLT_BAD_PATTERN",
  "MOLT_CONTEXT_ARCHIVE",
  "MOLT_CONTEXT_ESCAPE",
  "MOLT_CONTEXT_FETCH",
  "MOLT_CONTEXT_NOT_A_FILE",
  "MOLT_CONTEXT_NOT_FOUND",
  "MOLT_CONTEXT_SYMLINK_LOOP",
  "MOLT_CONTEXT_TOO_LARGE",
  "MOLT_CONTEXT_UNKNOWN_SCHEME",
] as const;

/** A `code` of an error thrown by `@molt/context-source`: switch on it. */
export type ContextErrorCode = (typeof CONTEXT_ERROR_CODES)[number];
