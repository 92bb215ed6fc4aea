import { MoltError } from "@molt/oci";
import type { RegistryErrorCode } from "./error-codes.js";

/** Where a registry error happened: the registry host, and the repository when one was involved. */
export interface RegistryErrorContext {
  /** Registry host[:port] as the user named it, e.g. `docker.io`, `127.0.0.1:5000`. */
  registry: string;
  /** Repository path, e.g. `library/busybox`. */
  repository?: string;
  /** The registry's diagnostic code from the error body, e.g. `MANIFEST_UNKNOWN`. */
  registryCode?: string;
  /** HTTP status of the failing response. */
  status?: number;
  /** True when trying again later could succeed (connection errors, 429, 5xx). */
  retryable?: boolean;
  /** The original error. */
  cause?: unknown;
  /** How long the registry asked to wait before retrying (`Retry-After`), in ms. */
  retryAfterMs?: number;
}

/**
 * The base of every error the registry client throws. Carries the registry's diagnostic code
 * (`MANIFEST_UNKNOWN`, `DENIED`, …), the HTTP status, the registry and repository, and whether a
 * retry could help. Messages never contain credentials, tokens or signed URLs. The family of the
 * registry errors: each condition is its own subclass with one `code`.
 *
 * @example
 * ```ts
 * try { await client.getManifest(ref) }
 * catch (e) { if (e instanceof RegistryError && e.registryCode === "MANIFEST_UNKNOWN") … }
 * ```
 */
export abstract class RegistryError<C extends RegistryErrorCode = RegistryErrorCode> extends MoltError<C> {
  /** The registry's diagnostic code (`MANIFEST_UNKNOWN`, `BLOB_UNKNOWN`, `UNAUTHORIZED`, …). */
  readonly registryCode?: string;
  /** HTTP status of the failing response, when there was one. */
  readonly status?: number;
  /** Registry host[:port]. */
  readonly registry: string;
  /** Repository path, when the operation concerned one. */
  readonly repository?: string;
  /** True when trying again later could succeed. */
  readonly retryable: boolean;
  /** How long the registry asked to wait before retrying (`Retry-After`), in ms. */
  readonly retryAfterMs?: number;

  constructor(code: C, message: string, ctx: RegistryErrorContext) {
    super(code, message, ctx.cause === undefined ? undefined : { cause: ctx.cause });
    this.registry = ctx.registry;
    if (ctx.repository !== undefined) this.repository = ctx.repository;
    if (ctx.registryCode !== undefined) this.registryCode = ctx.registryCode;
    if (ctx.status !== undefined) this.status = ctx.status;
    this.retryable = ctx.retryable ?? false;
    if (ctx.retryAfterMs !== undefined) this.retryAfterMs = ctx.retryAfterMs;
  }
}

/** The registry answered 429 Too Many Requests (`MOLT_REGISTRY_TOO_MANY_REQUESTS`); retryable, with `retryAfterMs` when it said. */
export class RegistryTooManyRequestsError extends RegistryError<"MOLT_REGISTRY_TOO_MANY_REQUESTS"> {
  constructor(message: string, ctx: RegistryErrorContext) {
    super("MOLT_REGISTRY_TOO_MANY_REQUESTS", message, ctx);
  }
}

/**
 * The registry answered with an error status no other class names (a 5xx, or a 4xx that is not
 * auth or not-found) (`MOLT_REGISTRY_ERROR`); `retryable` says whether trying again could help.
 */
export class RegistryRequestFailedError extends RegistryError<"MOLT_REGISTRY_ERROR"> {
  constructor(message: string, ctx: RegistryErrorContext) {
    super("MOLT_REGISTRY_ERROR", message, ctx);
  }
}

/** The registry could not be reached at all (DNS, refused, reset, timeout, TLS handshake). */
export class RegistryUnreachableError extends RegistryError<"MOLT_REGISTRY_UNREACHABLE"> {
  constructor(message: string, ctx: RegistryErrorContext) {
    super("MOLT_REGISTRY_UNREACHABLE", message, { retryable: true, ...ctx });
  }
}

/** The registry's TLS certificate was not trusted (unknown CA, wrong host name, expired). */
export class RegistryTlsError extends RegistryError<"MOLT_REGISTRY_TLS"> {
  constructor(message: string, ctx: RegistryErrorContext) {
    super("MOLT_REGISTRY_TLS", message, { retryable: false, ...ctx });
  }
}

/**
 * A registry request made no progress for the idle timeout (retryable), or a whole operation
 * ran past its cap (not retried). The message names the operation, the registry and the time.
 */
export class RegistryTimeoutError extends RegistryError<"MOLT_REGISTRY_TIMEOUT"> {
  /** `idle`: no bytes for `timeoutMs`; `operation`: the operation ran longer than `timeoutMs`. */
  readonly kind: "idle" | "operation";
  /** The limit that was reached, in ms. */
  readonly timeoutMs: number;
  constructor(message: string, kind: "idle" | "operation", timeoutMs: number, ctx: RegistryErrorContext) {
    super("MOLT_REGISTRY_TIMEOUT", message, { retryable: kind === "idle", ...ctx });
    this.kind = kind;
    this.timeoutMs = timeoutMs;
  }
}

/** The image, repository or blob does not exist (`MANIFEST_UNKNOWN`, `NAME_UNKNOWN`, `BLOB_UNKNOWN`). */
export class RegistryNotFoundError extends RegistryError<"MOLT_REGISTRY_NOT_FOUND"> {
  constructor(message: string, ctx: RegistryErrorContext) {
    super("MOLT_REGISTRY_NOT_FOUND", message, { retryable: false, ...ctx });
  }
}

/** Authentication failed or access was denied (`UNAUTHORIZED`, `DENIED`, token endpoint errors). */
export class RegistryAuthError extends RegistryError<"MOLT_REGISTRY_AUTH"> {
  constructor(message: string, ctx: RegistryErrorContext) {
    super("MOLT_REGISTRY_AUTH", message, { retryable: false, ...ctx });
  }
}

/** The registry answered with something the protocol does not allow (bad status, oversized manifest). */
export class RegistryProtocolError extends RegistryError<"MOLT_REGISTRY_PROTOCOL"> {
  constructor(message: string, ctx: RegistryErrorContext) {
    super("MOLT_REGISTRY_PROTOCOL", message, ctx);
  }
}

/** An index has no manifest for the requested platform. */
export class PlatformNotFoundError extends RegistryError<"MOLT_PLATFORM_NOT_FOUND"> {
  /** The platform asked for, as `os/arch[/variant]`. */
  readonly platform: string;
  /** The platforms the index offers. */
  readonly available: string[];
  constructor(reference: string, platform: string, available: string[], ctx: RegistryErrorContext) {
    super(
      "MOLT_PLATFORM_NOT_FOUND",
      `${reference} has no image for platform ${platform} (available: ${available.join(", ") || "none"})`,
      { retryable: false, ...ctx },
    );
    this.platform = platform;
    this.available = available;
  }
}

/** A credential helper (`docker-credential-NAME`) failed in a way other than "credentials not found". */
export class CredentialHelperError extends MoltError<"MOLT_CREDENTIAL_HELPER"> {
  /** The helper program name. */
  readonly helper: string;
  constructor(helper: string, message: string, options?: { cause?: unknown }) {
    super("MOLT_CREDENTIAL_HELPER", `credential helper ${helper}: ${message}`, options);
    this.helper = helper;
  }
}

/** A docker/podman credentials file exists but cannot be parsed. */
export class CredentialConfigError extends MoltError<"MOLT_CREDENTIAL_CONFIG"> {
  /** The file that failed. */
  readonly file: string;
  constructor(file: string, message: string, options?: { cause?: unknown }) {
    super("MOLT_CREDENTIAL_CONFIG", `${file}: ${message}`, options);
    this.file = file;
  }
}
