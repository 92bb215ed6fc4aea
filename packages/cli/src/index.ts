/**
 * molt: build OCI container images from a Dockerfile without a Docker daemon.
 *
 * @example
 * ```ts
 * import { build } from "molt";
 * const result = await build({ context: ".", destinations: ["registry.example/app:1.2"] });
 * console.log(result.digest);
 * ```
 * @packageDocumentation
 */

export {
  CONTEXT_ERROR_CODES,
  type ContextErrorCode,
  ContextEscapeError,
  ContextNotFoundError,
  type ContextSource,
  NotAFileError,
  type OpenContextOptions,
  openContext,
  openDirectoryContext,
  readDockerfile,
  registerContextScheme,
} from "@molt/context-source";
export * from "@molt/core";
export { LAYER_ERROR_CODES, type LayerErrorCode } from "@molt/layer-writer";
export {
  DigestMismatchError,
  MoltError,
  OCI_ERROR_CODES,
  type OciErrorCode,
  PathEscapeError,
  PathLoopError,
  PathNotDirectoryError,
  PathResolveError,
} from "@molt/oci";
export {
  DockerfileArgumentsError,
  DockerfileCycleError,
  DockerfileDirectiveError,
  DockerfileError,
  type DockerfileErrorCode,
  DockerfileExpansionError,
  DockerfileFlagError,
  DockerfileHeredocError,
  DockerfileNoStageError,
  DockerfileStageError,
  DockerfileSyntaxError,
  DockerfileUnknownInstructionError,
  DockerfileUnknownTargetError,
  PARSER_ERROR_CODES,
  type ParserErrorCode,
  ShellBadSubstitutionError,
  ShellExpansionError,
  type ShellExpansionErrorCode,
  ShellRequiredVariableError,
  ShellTooDeepError,
  ShellUnsupportedModifierError,
  ShellUnterminatedError,
} from "@molt/parser";
export {
  PlatformNotFoundError,
  REGISTRY_ERROR_CODES,
  RegistryAuthError,
  RegistryClient,
  type RegistryClientOptions,
  RegistryError,
  type RegistryErrorCode,
  RegistryNotFoundError,
  RegistryProtocolError,
  RegistryRequestFailedError,
  RegistryTimeoutError,
  RegistryTlsError,
  RegistryTooManyRequestsError,
  RegistryUnreachableError,
} from "@molt/registry-client";
export { SNAPSHOT_ERROR_CODES, type SnapshotErrorCode } from "@molt/snapshotter";
export { CLI_ERROR_CODES, type CliErrorCode, MOLT_ERROR_CODES, type MoltErrorCode } from "./error-codes.js";
export type { CommandIO } from "./io.js";
export { main } from "./main.js";
