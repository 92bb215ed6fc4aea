/**
 * Every `code` an error of `@molt/snapshotter` can carry (`test/e2e/error-codes.test.ts` checks the
 * source against this list both ways).
 */
export const SNAPSHOT_ERROR_CODES = [
  "MOLT_ABORTED",
  "MOLT_DIFFID_MISMATCH",
  "MOLT_EXTRACT_FAILED",
  "MOLT_EXTRACT_LIMIT",
  "MOLT_LAYER_INDEX_FORMAT",
  "MOLT_SNAPSHOT_FAILED",
  "MOLT_UNSAFE_PATH",
  "MOLT_UNSUPPORTED_COMPRESSION",
] as const;

/** A `code` of an error thrown by `@molt/snapshotter`: switch on it. */
export type SnapshotErrorCode = (typeof SNAPSHOT_ERROR_CODES)[number];
