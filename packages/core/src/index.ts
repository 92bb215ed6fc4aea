/**
 * `build()`: turns a Dockerfile and a build context into an OCI image, pushed to registries
 * and/or written to an OCI layout.
 *
 * @packageDocumentation
 */

export type { GitContextOptions } from "@molt/context-source";
export { type BuildResult, build } from "./build.js";
export * from "./errors.js";
export type { BuildProgressEvent } from "./events.js";
export * from "./mounts/index.js";
export type { BuildOptions } from "./options.js";
export * from "./runner/index.js";
