import { MoltError } from "@molt/oci";
import type { Dispatcher } from "undici";
import {
  RegistryAuthError,
  type RegistryError,
  type RegistryErrorContext,
  RegistryNotFoundError,
  RegistryProtocolError,
  RegistryRequestFailedError,
  RegistryTimeoutError,
  RegistryTlsError,
  RegistryTooManyRequestsError,
  RegistryUnreachableError,
} from "../errors.js";
import { parseRetryAfter } from "./retry.js";

const TLS_CODES = new Set([
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "CERT_HAS_EXPIRED",
  "CERT_NOT_YET_VALID",
  "CERT_UNTRUSTED",
  "CERT_REJECTED",
  "ERR_TLS_CERT_ALTNAME_INVALID",
  "ERR_SSL_WRONG_VERSION_NUMBER",
  "EPROTO",
]);

const DESCRIPTIONS: Record<string, string> = {
  ECONNREFUSED: "connection refused",
  ECONNRESET: "connection reset",
  ENOTFOUND: "host not found",
  EAI_AGAIN: "DNS lookup failed",
  ETIMEDOUT: "connection timed out",
  EHOSTUNREACH: "host unreachable",
  ENETUNREACH: "network unreachable",
  EPIPE: "connection closed",
  UND_ERR_CONNECT_TIMEOUT: "connection timed out",
  UND_ERR_SOCKET: "connection closed by the server",
  UND_ERR_HEADERS_TIMEOUT: "no response in time",
  UND_ERR_BODY_TIMEOUT: "response stalled",
  UND_ERR_CLOSED: "connection closed",
};

/** The most specific error code in a chain of causes (undici wraps the socket error). */
function errorCode(e: unknown): string | undefined {
  let cur: unknown = e;
  let found: string | undefined;
  for (let i = 0; i < 5 && cur && typeof cur === "object"; i++) {
    const code = (cur as { code?: unknown }).code;
    if (typeof code === "string" && (found === undefined || found.startsWith("UND_ERR"))) found = code;
    cur = (cur as { cause?: unknown }).cause;
  }
  return found;
}

function isAbort(e: unknown): boolean {
  return (
    e instanceof Error &&
    (e.name === "AbortError" ||
      (e as { code?: string }).code === "UND_ERR_ABORTED" ||
      e.name === "TimeoutError")
  );
}

/** The operation a connection failure interrupted, for the message: `push blob … to …`, and its direction. */
export interface FailedOperation {
  what?: string | undefined;
  direction?: "pull" | "push" | undefined;
  /** The idle timeout in force, in ms (named in the message when it fires). */
  idleMs?: number | undefined;
}

/** `30000` → `30 s`, `1500` → `1.5 s`. */
export function formatMs(ms: number): string {
  return `${Math.round(ms / 100) / 10} s`;
}

/**
 * Turns a failure to talk to a host (no HTTP response) into a one-line registry error:
 * `RegistryTlsError` for certificate problems, else `RegistryUnreachableError` (retryable).
 * The message starts with the operation when `op` names it. Aborts are rethrown unchanged.
 */
export function connectionError(
  e: unknown,
  ctx: RegistryErrorContext,
  host: string,
  op: FailedOperation = {},
): unknown {
  if (isAbort(e) || e instanceof MoltError) return e;
  const code = errorCode(e) ?? "";
  const msg = e instanceof Error ? e.message : String(e);
  if (code === "UND_ERR_HEADERS_TIMEOUT" || code === "UND_ERR_BODY_TIMEOUT") {
    const ms = op.idleMs ?? 0;
    return new RegistryTimeoutError(
      `${op.what ? `${op.what}: ` : ""}registry ${host} sent or took no bytes for ${formatMs(ms)} (idle timeout)`,
      "idle",
      ms,
      { ...ctx, cause: e },
    );
  }
  if (code === "UND_ERR_REQ_CONTENT_LENGTH_MISMATCH") {
    return new RegistryProtocolError(
      `sending to registry ${host}: the body's length differs from its Content-Length (a source whose size is not the descriptor's?)`,
      { ...ctx, cause: e, retryable: false },
    );
  }
  if (TLS_CODES.has(code) || /certificate|ssl|tls/i.test(msg)) {
    const dir = op.direction ? ` for ${op.direction}es` : "";
    const hint =
      code === "ERR_SSL_WRONG_VERSION_NUMBER" || code === "EPROTO" || /wrong version number/i.test(msg)
        ? ` (is it plain HTTP? mark it insecure${dir})`
        : ` (use a custom CA or skip TLS verification for it${dir})`;
    const prefix = op.what ? `${op.what}: ` : "";
    return new RegistryTlsError(`${prefix}TLS error talking to registry ${host}: ${code || msg}${hint}`, {
      ...ctx,
      cause: e,
    });
  }
  const what = DESCRIPTIONS[code] ?? (msg.split("\n")[0] || "network error");
  return new RegistryUnreachableError(
    `${op.what ? `${op.what}: ` : ""}cannot reach registry ${host}: ${what}${code && !what.includes(code) ? ` (${code})` : ""}`,
    { ...ctx, cause: e },
  );
}

/** The first entry of a distribution-spec error body: `{"errors":[{"code","message"}]}`. */
export interface RegistryErrorBody {
  code?: string;
  message?: string;
}

/** Parses a registry error body (and token servers' `{error, error_description}`) leniently. */
export function parseErrorBody(text: string): RegistryErrorBody {
  try {
    const doc = JSON.parse(text) as {
      errors?: Array<{ code?: unknown; message?: unknown }>;
      error?: unknown;
      error_description?: unknown;
      details?: unknown;
    };
    const first = Array.isArray(doc.errors) ? doc.errors[0] : undefined;
    const out: RegistryErrorBody = {};
    if (first) {
      if (typeof first.code === "string") out.code = first.code;
      if (typeof first.message === "string") out.message = first.message;
    } else if (typeof doc.error === "string") {
      out.code = doc.error.toUpperCase();
      if (typeof doc.error_description === "string") out.message = doc.error_description;
    }
    return out;
  } catch {
    return {};
  }
}

/** Reads at most `limit` bytes of a body as text and discards the rest. */
export async function readSmallText(
  body: Dispatcher.ResponseData["body"],
  limit = 64 * 1024,
): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const c of body) {
      const b = c as Buffer;
      if (size < limit) chunks.push(b.subarray(0, limit - size));
      size += b.length;
    }
  } catch {
    // a broken error body is still an error; the status says enough
  }
  return Buffer.concat(chunks).toString("utf8");
}

/** Removes secrets from text that may have come from a server echoing a request. */
export function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) if (s.length >= 4) out = out.split(s).join("***");
  return out;
}

/**
 * Turns a non-success response into the matching {@link RegistryError}: not found for 404 and
 * `*_UNKNOWN` codes, auth errors for 401/403, retryable for 408/429/5xx (except 501), carrying
 * `Retry-After`. `what` names the operation and reference, e.g. `get manifest 127.0.0.1:5000/a:b`.
 */
export async function responseError(
  res: Dispatcher.ResponseData,
  ctx: RegistryErrorContext,
  what: string,
  secrets: readonly string[] = [],
): Promise<RegistryError> {
  const text = res.statusCode === 204 ? "" : await readSmallText(res.body);
  const body = parseErrorBody(text);
  const status = res.statusCode;
  const detail = redact(
    [body.code, body.message].filter(Boolean).join(": ") || `HTTP ${status}`,
    secrets,
  ).slice(0, 300);
  const full: RegistryErrorContext = { ...ctx, status };
  if (body.code) full.registryCode = body.code;
  const message = `${what}: ${detail}${body.code ? ` (HTTP ${status})` : ""}`;
  const code = body.code ?? "";
  if (status === 404 || /_UNKNOWN$/.test(code)) return new RegistryNotFoundError(message, full);
  if (status === 401 || status === 403 || code === "UNAUTHORIZED" || code === "DENIED") {
    return new RegistryAuthError(message, full);
  }
  const retryable = status === 408 || status === 429 || (status >= 500 && status !== 501 && status !== 505);
  if (retryable) {
    const after = parseRetryAfter(res.headers["retry-after"]);
    if (after !== undefined) full.retryAfterMs = after;
  }
  const context = { ...full, retryable };
  return status === 429
    ? new RegistryTooManyRequestsError(message, context)
    : new RegistryRequestFailedError(message, context);
}
