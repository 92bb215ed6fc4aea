import { CONTEXT_ERROR_CODES, type ContextErrorCode } from "@molt/context-source";
import { CORE_ERROR_CODES, type CoreErrorCode } from "@molt/core";
import { LAYER_ERROR_CODES, type LayerErrorCode } from "@molt/layer-writer";
import { OCI_ERROR_CODES, type OciErrorCode } from "@molt/oci";
import { PARSER_ERROR_CODES, type ParserErrorCode } from "@molt/parser";
import { REGISTRY_ERROR_CODES, type RegistryErrorCode } from "@molt/registry-client";
import { SNAPSHOT_ERROR_CODES, type SnapshotErrorCode } from "@molt/snapshotter";

/**
 * Every `code` an error of the `molt` command can carry (`test/e2e/error-codes.test.ts` checks the
 * source against this list both ways).
 */
export const CLI_ERROR_CODES = ["MOLT_USAGE"] as const;

/** A `code` of an error thrown by the `molt` command: switch on it. */
export type CliErrorCode = (typeof CLI_ERROR_CODES)[number];

/**
 * Every code an error from molt can carry, package by package. Each package's own union
 * (`CoreErrorCode`, `RegistryErrorCode`, …) is exported beside it.
 *
 * @example
 * ```ts
 * import { build, MoltError, type MoltErrorCode } from "molt";
 * try {
 *   await build({ context: ".", noPush: true });
 * } catch (e) {
 *   const code: MoltErrorCode | undefined = e instanceof MoltError ? (e.code as MoltErrorCode) : undefined;
 *   if (code === "MOLT_REGISTRY_AUTH") console.error("log in first");
 * }
 * ```
 */
export type MoltErrorCode =
  | CliErrorCode
  | CoreErrorCode
  | ParserErrorCode
  | ContextErrorCode
  | SnapshotErrorCode
  | LayerErrorCode
  | RegistryErrorCode
  | OciErrorCode;

/** {@link MoltErrorCode} as a list (deduplicated: a few codes are shared, e.g. `MOLT_ABORTED`). */
export const MOLT_ERROR_CODES: readonly MoltErrorCode[] = [
  ...new Set<MoltErrorCode>([
    ...CLI_ERROR_CODES,
    ...CORE_ERROR_CODES,
    ...PARSER_ERROR_CODES,
    ...CONTEXT_ERROR_CODES,
    ...SNAPSHOT_ERROR_CODES,
    ...LAYER_ERROR_CODES,
    ...REGISTRY_ERROR_CODES,
    ...OCI_ERROR_CODES,
  ]),
];
