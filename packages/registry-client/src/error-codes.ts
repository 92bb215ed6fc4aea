/**
 * Every `code` an error of `@molt/registry-client` can carry (`test/e2e/error-codes.test.ts` checks the
 * source against this list both ways).
 */
export const REGISTRY_ERROR_CODES = [
  "MOLT_CREDENTIAL_CONFIG",
  "MOLT_CREDENTIAL_HELPER",
  "MOLT_PLATFORM_NOT_FOUND",
  "MOLT_REGISTRY_AUTH",
  "MOLT_REGISTRY_ERROR",
  "MOLT_REGISTRY_NOT_FOUND",
  "MOLT_REGISTRY_PROTOCOL",
  "MOLT_REGISTRY_TIMEOUT",
  "MOLT_REGISTRY_TLS",
  "MOLT_REGISTRY_TOO_MANY_REQUESTS",
  "MOLT_REGISTRY_UNREACHABLE",
] as const;

/** A `code` of an error thrown by `@molt/registry-client`: switch on it. */
export type RegistryErrorCode = (typeof REGISTRY_ERROR_CODES)[number];
