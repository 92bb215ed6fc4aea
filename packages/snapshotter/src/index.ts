/**
 * The root filesystem of a build stage: apply image layers safely ({@link extract},
 * {@link flatten}), keep a {@link Baseline} of the tree, and report what each step changed
 * ({@link createSnapshotter}, walk or overlay mode).
 *
 * @packageDocumentation
 */
export { Baseline, type BaselineEntry, type NodeType } from "./baseline.js";
export { nodeType } from "./baseline-entry.js";
export { baselineFromBytes, baselineToBytes } from "./baseline-file.js";
export { type Compression, detectCompression, type OpenedLayer, openDecompressed } from "./decompress.js";
export { SNAPSHOT_ERROR_CODES, type SnapshotErrorCode } from "./error-codes.js";
export {
  AbortedError,
  DiffIdMismatchError,
  ExtractError,
  ExtractLimitError,
  type ExtractLimitKind,
  SnapshotError,
  UnsafePathError,
  UnsupportedCompressionError,
} from "./errors.js";
export {
  DEFAULT_EXTRACT_LIMITS,
  type ExtractLimits,
  type ExtractOptions,
  type ExtractProgressEvent,
  extract,
  flatten,
  type LayerSource,
} from "./extract.js";
export type { Extractor } from "./extractor.js";
export {
  type IndexEntry,
  type IndexEntryType,
  type IndexLayerOptions,
  indexLayer,
  type LayerIndex,
  LayerIndexFormatError,
  parseLayerIndex,
  serializeLayerIndex,
} from "./layer-index.js";
export { canMountOverlay, mountOverlay, unmount } from "./mount.js";
export { cleanPath, type Lookup, resolveInRoot } from "./paths.js";
export {
  type PreparedSnapshotter,
  type PrepareOptions,
  prepareSnapshotter,
  type SnapshotterSetup,
} from "./prepare.js";
export { type IndexNode, RootIndex } from "./root-index.js";
export { scanTree } from "./scan.js";
export { ShellHelper, type ShellResult } from "./shell.js";
export {
  createSnapshotter,
  DEFAULT_IGNORE,
  type Snapshotter,
  type SnapshotterFactory,
  type SnapshotterOptions,
  type Step,
} from "./snapshotter.js";
export {
  CAPABILITY_XATTR,
  layerXattrs,
  type PendingXattrReader,
  readXattrs,
  startXattrReader,
  xattrToolsAvailable,
} from "./xattrs.js";
