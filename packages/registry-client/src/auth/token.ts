import type { Dispatcher } from "undici";
import type { Credential } from "../credentials/types.js";
import { RegistryAuthError, RegistryProtocolError } from "../errors.js";
import type { RegistryDirection } from "../options.js";
import { readSmallText, responseError } from "../transport/failures.js";

/** Sends one HTTP request (no auth handling, no retries); errors are already registry errors. */
export type HttpSend = (
  url: URL,
  init: {
    method: string;
    headers: Record<string, string>;
    body?: string;
    signal?: AbortSignal | undefined;
    direction?: RegistryDirection | undefined;
  },
) => Promise<Dispatcher.ResponseData>;

/** A bearer token and when it stops being usable. */
export interface IssuedToken {
  token: string;
  /** Epoch ms after which the token must not be used. */
  expiresAt: number;
}

/** What {@link fetchToken} needs. */
export interface TokenRequest {
  registry: string;
  repository?: string | undefined;
  realm: string;
  service?: string | undefined;
  scopes: string[];
  credential?: Credential | undefined;
  signal?: AbortSignal | undefined;
  clientId: string;
  /** Whose transport settings the token request uses: a token with push scope is a push. */
  direction?: RegistryDirection | undefined;
}

/** Tokens are considered expired this long before the server says, to absorb clock skew and latency. */
const EXPIRY_MARGIN_MS = 10_000;
/** The docker token spec's minimum lifetime when `expires_in` is missing or smaller. */
const MIN_LIFETIME_S = 60;

function parseTokenResponse(text: string, req: TokenRequest): IssuedToken {
  let doc: { token?: unknown; access_token?: unknown; expires_in?: unknown; issued_at?: unknown };
  try {
    doc = JSON.parse(text) as typeof doc;
  } catch {
    throw new RegistryProtocolError(
      `token server for ${req.registry} answered with something that is not JSON`,
      {
        registry: req.registry,
        repository: req.repository,
      },
    );
  }
  const token =
    typeof doc.token === "string" && doc.token !== ""
      ? doc.token
      : typeof doc.access_token === "string"
        ? doc.access_token
        : "";
  if (!token) {
    throw new RegistryProtocolError(`token server for ${req.registry} answered without a token`, {
      registry: req.registry,
      repository: req.repository,
    });
  }
  const lifetime = Math.max(MIN_LIFETIME_S, typeof doc.expires_in === "number" ? doc.expires_in : 0);
  const issued = typeof doc.issued_at === "string" ? Date.parse(doc.issued_at) : Number.NaN;
  // A server clock far from ours would make issued_at misleading; trust it only when close.
  const start = !Number.isNaN(issued) && Math.abs(issued - Date.now()) < 5 * 60_000 ? issued : Date.now();
  return { token, expiresAt: start + lifetime * 1000 - EXPIRY_MARGIN_MS };
}

function secretsOf(c: Credential | undefined): string[] {
  if (!c) return [];
  if ("registryToken" in c) return [c.registryToken];
  if ("identityToken" in c) return [c.identityToken];
  return [c.password, Buffer.from(`${c.username}:${c.password}`).toString("base64")];
}

/**
 * Gets a bearer token from a token server, following the docker token authentication spec:
 * an identity token is exchanged by OAuth2 POST (`grant_type=refresh_token`), falling back to
 * GET when the server does not support POST; user name and password go by GET with Basic auth;
 * anonymous requests send none. Errors never contain the credential.
 */
export async function fetchToken(send: HttpSend, req: TokenRequest): Promise<IssuedToken> {
  const url = new URL(req.realm);
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    throw new RegistryProtocolError(`token realm of ${req.registry} is not an http(s) URL`, {
      registry: req.registry,
      repository: req.repository,
    });
  }
  const ctx = { registry: req.registry, repository: req.repository };
  const what = `authenticate to ${req.registry}${req.repository ? ` for ${req.repository}` : ""}`;
  const secrets = secretsOf(req.credential);
  const cred = req.credential;

  if (cred && "identityToken" in cred) {
    const form = new URLSearchParams();
    form.set("grant_type", "refresh_token");
    form.set("refresh_token", cred.identityToken);
    form.set("client_id", req.clientId);
    if (req.service) form.set("service", req.service);
    if (req.scopes.length) form.set("scope", req.scopes.join(" "));
    const res = await send(url, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: form.toString(),
      signal: req.signal,
      direction: req.direction,
    });
    if (res.statusCode >= 200 && res.statusCode < 300)
      return parseTokenResponse(await readSmallText(res.body), req);
    if (res.statusCode !== 404 && res.statusCode !== 405) throw await tokenError(res, ctx, what, secrets);
    await readSmallText(res.body);
  }

  const getUrl = new URL(url);
  if (req.service) getUrl.searchParams.set("service", req.service);
  for (const s of req.scopes) getUrl.searchParams.append("scope", s);
  const headers: Record<string, string> = {};
  if (cred && "username" in cred && "password" in cred) {
    getUrl.searchParams.set("account", cred.username);
    headers.authorization = `Basic ${Buffer.from(`${cred.username}:${cred.password}`).toString("base64")}`;
  } else if (cred && "identityToken" in cred) {
    headers.authorization = `Basic ${Buffer.from(`${cred.username || "<token>"}:${cred.identityToken}`).toString("base64")}`;
  }
  getUrl.searchParams.set("client_id", req.clientId);
  const res = await send(getUrl, { method: "GET", headers, signal: req.signal, direction: req.direction });
  if (res.statusCode >= 200 && res.statusCode < 300)
    return parseTokenResponse(await readSmallText(res.body), req);
  throw await tokenError(res, ctx, what, secrets);
}

async function tokenError(
  res: Dispatcher.ResponseData,
  ctx: { registry: string; repository?: string | undefined },
  what: string,
  secrets: string[],
) {
  const e = await responseError(res, ctx, `${what}: token server answered`, secrets);
  if (res.statusCode === 401 || res.statusCode === 403) {
    return new RegistryAuthError(e.message, {
      ...ctx,
      status: res.statusCode,
      registryCode: e.registryCode ?? (res.statusCode === 401 ? "UNAUTHORIZED" : "DENIED"),
    });
  }
  return e;
}
