/**
 * The digest of the layer whose bytes failed verification, when `e` (or an error it was caused
 * by) says a layer's bytes are not what its descriptor promises: a digest or size mismatch, a
 * diff_id mismatch, or a stream the extractor could not decode or read as a tar. `undefined`
 * for anything else (a limit, an unsafe path, a full disk, a network error), which must stay
 * the build's error.
 */
export function corruptLayerOf(e: unknown): string | undefined {
  let extracting: string | undefined;
  for (let x: unknown = e, depth = 0; x instanceof Error && depth < 8; x = x.cause, depth++) {
    const f = x as Error & { code?: unknown; expected?: unknown; digest?: unknown; layer?: unknown };
    if (typeof (f as { syscall?: unknown }).syscall === "string") return undefined;
    if (f.code === "MOLT_DIGEST_MISMATCH" && typeof f.expected === "string") return f.expected;
    if (f.code === "MOLT_BLOB_SIZE_MISMATCH" && typeof f.digest === "string") return f.digest;
    if (f.code === "MOLT_DIFFID_MISMATCH" && typeof f.layer === "string") return f.layer;
    if (f.code === "MOLT_EXTRACT_FAILED" && typeof f.layer === "string") extracting ??= f.layer;
  }
  // The extractor failed reading the layer's stream (gzip or tar): its bytes are bad.
  return extracting;
}
