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
  type ContextSource,
  type OpenContextOptions,
  openContext,
  openDirectoryContext,
  registerContextScheme,
} from "@molt/context-source";
export * from "@molt/core";
export { main } from "./main.js";
