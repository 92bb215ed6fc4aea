/**
 * Filesystem changes → deterministic tar → compression → (diffID, digest, size), into a
 * content-addressed {@link BlobStore}.
 *
 * @packageDocumentation
 */
export { BlobStore, BlobWriter } from "./blob-store.js";
export {
  type ByteSink,
  type Compressor,
  identityCompressor,
  parallelGzip,
  zstdCompressor,
} from "./compress.js";
export type { WrittenEntries } from "./entry-digests.js";
export { LAYER_ERROR_CODES, type LayerErrorCode } from "./error-codes.js";
export {
  BlobNotFoundError,
  CompressionError,
  CompressionUnavailableError,
  FileChangedError,
  InvalidEntryError,
} from "./errors.js";
export {
  comparePaths,
  normalizePath,
  OPAQUE_MARKER,
  type ParentLookup,
  type PlanItem,
  planLayer,
  WHITEOUT_PREFIX,
} from "./plan.js";
export {
  BLOCK_SIZE,
  type LayerCompression,
  type LayerProgressEvent,
  type LayerResult,
  type WriteLayerOptions,
  writeLayer,
} from "./write-layer.js";
