import { Readable, Writable } from "node:stream";
import createDebug from "debug";
import type { Dispatcher } from "undici";
import type { Authenticator } from "../auth/authenticator.js";
import { directionOf } from "../auth/authenticator.js";
import {
  RegistryAuthError,
  type RegistryError,
  RegistryProtocolError,
  RegistryTimeoutError,
} from "../errors.js";
import type { RegistryDirection } from "../options.js";
import type { RegistryProgressHandler } from "../progress.js";
import type { Dispatchers } from "./dispatchers.js";
import { connectionError, formatMs, responseError } from "./failures.js";
import { type RetryPolicy, withRetries } from "./retry.js";

const debug = createDebug("molt:registry:http");

/** Docker Hub's API host, which `docker.io` references are served from. */
export const HUB_API_HOST = "registry-1.docker.io";

/** The host the registry API of `registry` is reached at. */
export function apiHost(registry: string): string {
  return registry === "docker.io" || registry === "index.docker.io" ? HUB_API_HOST : registry;
}

/** A request body: bytes, or a factory that makes a fresh stream for every try. */
export type RequestBody = Buffer | string | (() => Readable | Buffer);

/** One logical registry request (retried, authenticated, redirected as needed). */
export interface RegistryRequest {
  /** Registry host[:port] as the user named it (`docker.io`, `127.0.0.1:5000`). */
  registry: string;
  repository?: string | undefined;
  method: "GET" | "HEAD" | "PUT" | "POST" | "PATCH" | "DELETE";
  /** A path (`/v2/…`, with query) on the registry, or an absolute URL the registry gave (upload `Location`). */
  path: string;
  headers?: Record<string, string>;
  body?: RequestBody;
  /** Token scopes the request needs. */
  scopes: string[];
  /**
   * Which direction's transport settings apply (plain HTTP, unverified TLS). Default: `push`
   * when a scope asks for push access, else `pull`.
   */
  direction?: RegistryDirection;
  /** Statuses returned to the caller instead of turned into errors (default: any 2xx). */
  expect?: number[];
  /** Follow 3xx redirects (GET/HEAD only); credentials are dropped when the host changes. */
  followRedirects?: boolean;
  /** Describes the operation for error messages, e.g. `get manifest 127.0.0.1:5000/a:b`. */
  what: string;
  signal?: AbortSignal | undefined;
  /** Set false for requests that must not be repeated. */
  retry?: boolean;
  /** Receives `registry:retry` events for this request (else the transport's handler). */
  onProgress?: RegistryProgressHandler | undefined;
}

/** A response: status, lower-case headers, body stream and the final URL (after redirects). */
export interface RegistryResponse {
  status: number;
  headers: Dispatcher.ResponseData["headers"];
  body: Dispatcher.ResponseData["body"];
  url: URL;
}

/**
 * Receives a successful response's body: called when its headers arrive, returns the writable
 * the body is written into (with backpressure).
 */
export type BodySink = (res: {
  status: number;
  headers: Dispatcher.ResponseData["headers"];
  url: URL;
}) => Writable;

/** A failure after the body started flowing into a sink: never retried by the transport. */
class SinkFailure {
  constructor(readonly cause: unknown) {}
}

/** A small in-memory body with undici's `dump()`, for responses collected by the stream path. */
function memoryBody(chunks: Buffer[]): Dispatcher.ResponseData["body"] {
  const r = Readable.from(chunks) as unknown as Dispatcher.ResponseData["body"] & { dump(): Promise<void> };
  r.dump = async () => {
    r.resume();
  };
  return r;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

function header(h: Dispatcher.ResponseData["headers"], name: string): string | undefined {
  const v = h[name];
  return Array.isArray(v) ? v[0] : v;
}

/** Path and host only: never log queries, which may hold signed-URL secrets. */
function safeUrl(u: URL): string {
  return `${u.protocol}//${u.host}${u.pathname}`;
}

/**
 * The registry transport: picks scheme and connection pool per host, authenticates with the
 * host's challenge, follows redirects (dropping credentials across hosts), retries connection
 * errors, 429 and 5xx with backoff, and turns failures into {@link RegistryError}s.
 */
export class RegistryHttp {
  constructor(
    readonly dispatchers: Dispatchers,
    readonly auth: Authenticator,
    readonly policy: RetryPolicy,
    readonly userAgent: string,
    readonly onRetry?: RegistryProgressHandler,
    /** Idle timeout (named in errors; enforced by the dispatchers) and per-operation cap, in ms; 0 = none. */
    readonly timeouts: { idleMs: number; operationMs: number } = { idleMs: 0, operationMs: 0 },
  ) {}

  /** The base URL of a registry's API in a direction, e.g. `https://registry-1.docker.io`. */
  baseUrl(registry: string, direction: RegistryDirection = "pull"): URL {
    const host = apiHost(registry);
    return new URL(`${this.dispatchers.scheme(host, direction)}://${host}`);
  }

  /** One HTTP exchange with no auth, redirects or retries; connection failures become registry errors. */
  async send(
    url: URL,
    init: {
      method: string;
      headers: Record<string, string>;
      body?: Buffer | string | Readable | undefined;
      signal?: AbortSignal | undefined;
      /** Whose transport settings apply (default `pull`). */
      direction?: RegistryDirection | undefined;
      /** The operation, for error messages. */
      what?: string | undefined;
    },
    ctx: { registry: string; repository?: string | undefined } = { registry: url.host },
  ): Promise<Dispatcher.ResponseData> {
    const dispatcher = await this.dispatchers.for(url, init.direction ?? "pull");
    debug("%s %s", init.method, safeUrl(url));
    try {
      return await dispatcher.request({
        origin: url.origin,
        path: `${url.pathname}${url.search}`,
        method: init.method as Dispatcher.HttpMethod,
        headers: { "user-agent": this.userAgent, ...init.headers },
        body: init.body ?? null,
        signal: init.signal ?? null,
        // undici closes the connection after every HEAD (against servers that wrongly send a
        // body with it), so each blob or manifest HEAD paid a new TCP connection, the close and
        // an error object with its stack: registries answer HEAD as HTTP says, so the connection
        // is kept. A body sent anyway fails the next exchange on it, which is retried.
        ...(init.method === "HEAD" ? { reset: false } : {}),
      });
    } catch (e) {
      init.signal?.throwIfAborted();
      throw connectionError(e, { registry: ctx.registry, repository: ctx.repository }, url.host, {
        what: init.what,
        direction: init.direction,
        idleMs: this.timeouts.idleMs,
      });
    }
  }

  /**
   * Like {@link RegistryHttp.send}, but a response `accept`ed by status is written straight into
   * the writable `accept` returns (undici's stream API, the fastest path for large bodies);
   * other responses are collected in memory (up to 64 KiB) and returned as usual. For an
   * accepted response the promise settles when the body has been written.
   */
  async #sendToSink(
    url: URL,
    init: {
      method: string;
      headers: Record<string, string>;
      signal?: AbortSignal | undefined;
      direction: RegistryDirection;
      what: string;
    },
    ctx: { registry: string; repository?: string | undefined },
    accept: (status: number, headers: Dispatcher.ResponseData["headers"]) => Writable | undefined,
  ): Promise<{ res: Dispatcher.ResponseData; engaged: boolean }> {
    const dispatcher = await this.dispatchers.for(url, init.direction);
    debug("%s %s (stream)", init.method, safeUrl(url));
    let engaged = false;
    let statusCode = 0;
    let headers: Dispatcher.ResponseData["headers"] = {};
    const chunks: Buffer[] = [];
    try {
      await dispatcher.stream(
        {
          origin: url.origin,
          path: `${url.pathname}${url.search}`,
          method: init.method as Dispatcher.HttpMethod,
          headers: { "user-agent": this.userAgent, ...init.headers },
          signal: init.signal ?? null,
        },
        (data) => {
          statusCode = data.statusCode;
          headers = data.headers;
          const sink = accept(data.statusCode, data.headers);
          if (sink) {
            engaged = true;
            return sink;
          }
          let size = 0;
          return new Writable({
            write(chunk: Buffer, _e, cb) {
              if (size < 64 * 1024) chunks.push(chunk);
              size += chunk.length;
              cb();
            },
          });
        },
      );
    } catch (e) {
      init.signal?.throwIfAborted();
      const mapped = connectionError(e, { registry: ctx.registry, repository: ctx.repository }, url.host, {
        what: init.what,
        direction: init.direction,
        idleMs: this.timeouts.idleMs,
      });
      if (engaged) throw new SinkFailure(mapped);
      throw mapped;
    }
    return {
      res: { statusCode, headers, body: memoryBody(chunks) } as unknown as Dispatcher.ResponseData,
      engaged,
    };
  }

  /**
   * Sends a GET whose successful body goes into `sink` (see {@link BodySink}), with the same
   * auth, redirects and retries as {@link RegistryHttp.request}. Failures before the body starts
   * are retried; a failure while it flows is thrown as is (the caller may resume with `Range`).
   * Resolves when the body has been written.
   */
  async stream(req: RegistryRequest, sink: BodySink): Promise<RegistryResponse> {
    try {
      return await this.request(req, sink);
    } catch (e) {
      if (e instanceof SinkFailure) throw e.cause;
      throw e;
    }
  }

  /**
   * Sends a registry request with auth, redirects and retries. Statuses in `expect` (default:
   * 2xx) are returned; others become errors (retried when they are retryable).
   */
  async request(req: RegistryRequest, sink?: BodySink): Promise<RegistryResponse> {
    const capMs = this.timeouts.operationMs;
    if (capMs <= 0) return this.#retried(req, sink);
    // The operation's cap: one timer over every try, its backoff waits and (for a sink) the body.
    const cap = new AbortController();
    const timer = setTimeout(() => {
      cap.abort(
        new RegistryTimeoutError(
          `${req.what}: registry ${req.registry} did not finish in ${formatMs(capMs)} (operation timeout)`,
          "operation",
          capMs,
          { registry: req.registry, ...(req.repository ? { repository: req.repository } : {}) },
        ),
      );
    }, capMs);
    const signal = req.signal ? AbortSignal.any([req.signal, cap.signal]) : cap.signal;
    try {
      return await this.#retried({ ...req, signal }, sink);
    } catch (e) {
      if (cap.signal.aborted && !req.signal?.aborted) throw cap.signal.reason;
      throw e;
    } finally {
      clearTimeout(timer);
    }
  }

  #retried(req: RegistryRequest, sink?: BodySink): Promise<RegistryResponse> {
    const ctx = { registry: req.registry, repository: req.repository };
    const policy = req.retry === false ? { ...this.policy, retries: 0 } : this.policy;
    return withRetries(
      policy,
      req.signal,
      (attempt, delayMs, error) => {
        debug("retry %d of %s in %d ms: %s", attempt, req.what, delayMs, error.message);
        (req.onProgress ?? this.onRetry)?.({
          type: "molt:registry:retry",
          registry: req.registry,
          attempt,
          delayMs,
          reason: error.message,
        });
      },
      () => this.#attempt(req, ctx, sink),
    );
  }

  async #attempt(
    req: RegistryRequest,
    ctx: { registry: string; repository?: string | undefined },
    sink?: BodySink,
  ): Promise<RegistryResponse> {
    const host = apiHost(req.registry);
    const direction = req.direction ?? directionOf(req.scopes);
    const base = this.baseUrl(req.registry, direction);
    let url = /^https?:\/\//.test(req.path) ? new URL(req.path) : new URL(req.path, base);
    let scopes = req.scopes;
    let authRetried = false;
    let redirects = 0;
    let method = req.method;
    for (;;) {
      const sameHost = url.host === host;
      if (sameHost && url.protocol === "http:" && !this.dispatchers.isInsecure(host, direction)) {
        // A registry (or a proxy before it) pointing us at plain HTTP must not downgrade a
        // request that carries credentials: only the user's settings for this direction may.
        throw new RegistryProtocolError(
          `${req.what}: the registry sent molt to plain HTTP (${safeUrl(url)}), which is not allowed for ${direction}es to ${host}; mark the registry insecure for ${direction}es to allow it`,
          ctx,
        );
      }
      const headers: Record<string, string> = { ...req.headers };
      if (sameHost) {
        const authz = await this.auth.header(host, req.repository, scopes, req.signal);
        if (authz) headers.authorization = authz;
      }
      const bodyish = redirects === 0 ? req.body : undefined;
      const body = typeof bodyish === "function" ? bodyish() : bodyish;
      const isOk = (st: number) => (req.expect ? req.expect.includes(st) : st >= 200 && st < 300);
      let res: Dispatcher.ResponseData;
      if (sink) {
        const here = url;
        const sent = await this.#sendToSink(
          here,
          { method, headers, signal: req.signal, direction, what: req.what },
          ctx,
          (st, h) => (isOk(st) ? sink({ status: st, headers: h, url: here }) : undefined),
        );
        if (sent.engaged)
          return { status: sent.res.statusCode, headers: sent.res.headers, body: sent.res.body, url };
        res = sent.res;
      } else {
        res = await this.send(
          url,
          { method, headers, body, signal: req.signal, direction, what: req.what },
          ctx,
        );
      }
      const status = res.statusCode;
      if (status === 401 && sameHost && !authRetried) {
        await res.body.dump().catch(() => {});
        const next = this.auth.unauthorized(host, scopes, res.headers["www-authenticate"]);
        if (next && (await this.auth.header(host, req.repository, next, req.signal)) !== undefined) {
          scopes = next;
          authRetried = true;
          continue;
        }
        throw new RegistryAuthError(
          next
            ? `${req.what}: the registry requires authentication and no credentials were found for ${host}`
            : `${req.what}: the registry requires an authentication scheme molt does not support`,
          { ...ctx, status: 401, registryCode: "UNAUTHORIZED" },
        );
      }
      if (REDIRECTS.has(status) && req.followRedirects) {
        const location = header(res.headers, "location");
        await res.body.dump().catch(() => {});
        if (!location || ++redirects > 10) {
          throw new RegistryProtocolError(
            `${req.what}: ${location ? "too many redirects" : "redirect without Location"}`,
            {
              ...ctx,
              status,
            },
          );
        }
        url = new URL(location, url);
        if (status === 303) method = "GET";
        continue;
      }
      if (isOk(status)) return { status, headers: res.headers, body: res.body, url };
      const secrets = sameHost ? await this.auth.secrets(host, req.repository) : [];
      const err: RegistryError = await responseError(res, ctx, req.what, secrets);
      throw err;
    }
  }
}
