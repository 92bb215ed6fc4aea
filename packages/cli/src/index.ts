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
  type ContextSource,
  type OpenContextOptions,
  openContext,
  openDirectoryContext,
  registerContextScheme,
} from "@molt/context-source";
export * from "@molt/core";
export { LAYER_ERROR_CODES, type LayerErrorCode } from "@molt/layer-writer";
export { MoltError, OCI_ERROR_CODES, type OciErrorCode } from "@molt/oci";
export { PARSER_ERROR_CODES, type ParserErrorCode } from "@molt/parser";
export {
  REGISTRY_ERROR_CODES,
  RegistryClient,
  type RegistryClientOptions,
  type RegistryErrorCode,
} from "@molt/registry-client";
export { SNAPSHOT_ERROR_CODES, type SnapshotErrorCode } from "@molt/snapshotter";
export { CLI_ERROR_CODES, type CliErrorCode, MOLT_ERROR_CODES, type MoltErrorCode } from "./error-codes.js";
export { main } from "./main.js";
