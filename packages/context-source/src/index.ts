/**
 * Build contexts for molt: one read-only {@link ContextSource} interface over a local directory,
 * a tarball (file or stdin), a Google Cloud Storage object, an https tarball or a git repository,
 * picked by URL scheme with {@link openContext}, honouring `.dockerignore` exactly as docker does.
 *
 * @packageDocumentation
 */

export { detectCompression, type TarCompression } from "./decompress.js";
export {
  DirectoryContext,
  type DirectoryContextOptions,
  loadIgnore,
  openDirectoryContext,
} from "./directory.js";
export { type DockerfileText, type ReadDockerfileOptions, readDockerfile } from "./dockerfile.js";
export { IgnoreMatcher, type IgnorePattern, type ParentMatches, parseDockerignore } from "./dockerignore.js";
export { type StatFields, statFieldsOf, statStampOf } from "./entry.js";
export { CONTEXT_ERROR_CODES, type ContextErrorCode } from "./error-codes.js";
export * from "./errors.js";
export { DEFAULT_GCS_OBJECT, openGcsContext, parseGsUrl } from "./gcs.js";
export { type GitUrl, openGitContext, parseGitUrl } from "./git.js";
export { goMatch, hasMeta } from "./go-match.js";
export { DEFAULT_MAX_DOWNLOAD, downloadToFile, type FetchOptions } from "./http-fetch.js";
export { openHttpsContext } from "./https.js";
export { cleanContextPath } from "./paths.js";
export { isGitUrl, openContext, registerContextScheme, schemeOf } from "./schemes.js";
export type {
  ContextFactory,
  ContextProgressEvent,
  ContextSource,
  GitContextOptions,
  OpenContextOptions,
} from "./source.js";
export { type ExtractTarOptions, extractTar } from "./tar-extract.js";
export { openTarContext, type TarContextOptions } from "./tarball.js";
export { decodeUtf8, type InvalidUtf8 } from "./utf8.js";
