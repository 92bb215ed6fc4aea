/**
 * `@molt/registry-client`: the OCI distribution protocol — references, docker's credential
 * chain, bearer and basic auth, manifests and indexes, blob streaming and uploads, retries,
 * mirrors — as a library.
 *
 * @packageDocumentation
 */

export { repositoryScope } from "./auth/authenticator.js";
export { type Challenge, parseChallenges } from "./auth/challenge.js";
export type { BlobSource } from "./blob-upload.js";
export {
  type CallOptions,
  type FetchedManifest,
  RegistryClient,
  type ResolvedImage,
  type TransferOptions,
} from "./client.js";
export type { CredentialChainOptions } from "./credentials/chain.js";
export { dockerConfigPath, podmanAuthPaths, resolveCredential } from "./credentials/chain.js";
export { eraseCredential, runCredentialHelper, storeCredential } from "./credentials/helper.js";
export type { Credential, CredentialProvider } from "./credentials/types.js";
export { REGISTRY_ERROR_CODES, type RegistryErrorCode } from "./error-codes.js";
export * from "./errors.js";
export { copyImage, type ImageCopyOptions, pullOciLayout, pushOciLayout } from "./images.js";
export { DEFAULT_MANIFEST_ACCEPT, selectPlatform } from "./manifests.js";
export type * from "./options.js";
export type * from "./progress.js";
export type { ManifestHead, PushBlobOptions, Registry } from "./registry.js";
