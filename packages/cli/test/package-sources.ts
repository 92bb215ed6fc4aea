// What the source-scanning tests (error-codes, error-classes) read: each package's exported code
// union and the TypeScript files under its src/.
import { readdirSync } from "node:fs";
import { join } from "node:path";
import {
  CLI_ERROR_CODES,
  CONTEXT_ERROR_CODES,
  CORE_ERROR_CODES,
  LAYER_ERROR_CODES,
  OCI_ERROR_CODES,
  PARSER_ERROR_CODES,
  REGISTRY_ERROR_CODES,
  SNAPSHOT_ERROR_CODES,
} from "../src/index.js";

/** Each package's directory name and the error codes its union exports. */
export const PACKAGES: Record<string, readonly string[]> = {
  oci: OCI_ERROR_CODES,
  parser: PARSER_ERROR_CODES,
  "context-source": CONTEXT_ERROR_CODES,
  snapshotter: SNAPSHOT_ERROR_CODES,
  "layer-writer": LAYER_ERROR_CODES,
  "registry-client": REGISTRY_ERROR_CODES,
  core: CORE_ERROR_CODES,
  cli: CLI_ERROR_CODES,
};

/** The packages/ directory. */
export const root = join(import.meta.dirname, "..", "..");

/** Every `.ts` file below `dir`, except those named in `skip`. */
export function sources(dir: string, skip: readonly string[] = []): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory()
      ? sources(join(dir, e.name), skip)
      : e.name.endsWith(".ts") && !skip.includes(e.name)
        ? [join(dir, e.name)]
        : [],
  );
}
