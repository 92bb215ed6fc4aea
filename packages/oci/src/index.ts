/**
 * The image model shared by every molt package: digests, media types, descriptors, manifests,
 * image configs, platforms, image references and the OCI image layout.
 *
 * @packageDocumentation
 */

export * from "./blob-source.js";
export * from "./changes.js";
export * from "./config.js";
export * from "./descriptor.js";
export * from "./digest.js";
export * from "./digest-files.js";
export * from "./docker-archive.js";
export { OCI_ERROR_CODES, type OciErrorCode } from "./error-codes.js";
export * from "./errors.js";
export * from "./layout.js";
export * from "./manifest.js";
export * from "./media-types.js";
export * from "./oci-archive.js";
export * from "./owned-removal.js";
export * from "./platform.js";
export * from "./reference.js";
export * from "./root-path.js";
export * from "./tar-file.js";
export * from "./tar-header.js";
export * from "./temp-dirs.js";
export { writeUstarHeader } from "./ustar-direct.js";
export * from "./validate.js";
