import type { Credential, CredentialProvider } from "./credentials/types.js";

/** TLS settings for one registry host. */
export interface RegistryTlsOptions {
  /** Extra CA certificates (PEM) trusted for this host, added to the system roots. */
  ca?: string | Buffer | Array<string | Buffer>;
  /** Client certificate (PEM) for mutual TLS. */
  cert?: string | Buffer;
  /** Private key (PEM) of the client certificate. */
  key?: string | Buffer;
}

/** How the client retries failed requests. */
export interface RetryOptions {
  /** How many times a request is retried after the first try (default 4). */
  retries?: number;
  /** First backoff delay in ms (default 250); doubles each try, with jitter. */
  minDelayMs?: number;
  /** Longest backoff delay in ms (default 8000). A `Retry-After` longer than `maxRetryAfterMs` is not waited for. */
  maxDelayMs?: number;
  /** Longest `Retry-After` the client honours, in ms (default 60000). */
  maxRetryAfterMs?: number;
}

/** Proxy settings; by default read from `HTTPS_PROXY`, `HTTP_PROXY`, `NO_PROXY` (and lower-case forms). */
export interface ProxyOptions {
  /** Proxy URL for `http://` registries (`HTTP_PROXY`). */
  httpProxy?: string;
  /** Proxy URL for `https://` registries (`HTTPS_PROXY`). */
  httpsProxy?: string;
  /** Comma-separated hosts, `.domains`, `host:port`s and IPv4 CIDRs reached directly (`NO_PROXY`); `*` for all. */
  noProxy?: string;
}

/** Which way a request moves an image: reading (`pull`) or writing (`push`). */
export type RegistryDirection = "pull" | "push";

/**
 * Transport security weakened for one direction only. A request that asks for push access
 * (every upload, mount, manifest put and the checks made for them) is a push and sees only the
 * `push` set; every other request is a pull and sees only the `pull` set.
 */
export interface RegistryDirectionOptions {
  /** Hosts (`host[:port]`) reached over plain HTTP in this direction. */
  insecure?: string[];
  /** Hosts whose TLS certificate is not verified in this direction. */
  skipTlsVerify?: string[];
}

/** Options of {@link RegistryClient}. Every field is optional; the defaults talk HTTPS with verification. */
export interface RegistryClientOptions {
  /** Hosts (`host[:port]`) reached over plain HTTP for pulls and pushes (kaniko `--insecure-registry`). */
  insecure?: string[];
  /** Hosts whose TLS certificate is not verified, for pulls and pushes (kaniko `--skip-tls-verify-registry`). */
  skipTlsVerify?: string[];
  /** Hosts weakened for pulls only (kaniko `--insecure-pull`, `--skip-tls-verify-pull`); never applied to a push. */
  pull?: RegistryDirectionOptions;
  /** Hosts weakened for pushes only (kaniko `--insecure`, `--skip-tls-verify`). */
  push?: RegistryDirectionOptions;
  /** Per-host TLS: custom CA, client certificate (kaniko `--registry-certificate`, `--registry-client-cert`). */
  tls?: Record<string, RegistryTlsOptions>;
  /**
   * Credentials that override the docker credential chain: a map from host to credential, or a
   * function asked per host (return `undefined` to fall back to the chain).
   */
  credentials?: Record<string, Credential> | CredentialProvider;
  /** Do not read docker/podman credential files or helpers (only `credentials` are used). */
  noCredentialChain?: boolean;
  /** Environment used for `DOCKER_CONFIG`, `REGISTRY_AUTH_FILE`, `HOME`, `PATH`, proxies (default `process.env`). */
  env?: NodeJS.ProcessEnv;
  /** Docker Hub mirrors (`host[:port]` or URLs), tried in order before `docker.io` (kaniko `--registry-mirror`). */
  mirrors?: string[];
  /**
   * Registries pulled from others first (kaniko `--registry-map`): original host (`docker.io`,
   * `gcr.io`) → replacement hosts, each `host[:port]` with an optional path prefix, tried in order.
   */
  registryMaps?: Record<string, string[]>;
  /**
   * With `mirrors` or `registryMaps`, never fall back to the original registry: `true` for
   * every registry, or the hosts (keys of `registryMaps`, `docker.io` for `mirrors`) that never do.
   */
  skipDefaultRegistryFallback?: boolean | readonly string[];
  /** Retry policy for connection errors, 429 and 5xx. */
  retry?: RetryOptions;
  /** Most blob transfers in flight per registry (default 6). */
  concurrency?: number;
  /** Largest manifest accepted, in bytes (default 4 MiB). */
  maxManifestBytes?: number;
  /** Upload strategy: one PUT (default) or PATCH chunks of `chunkSize` bytes. */
  upload?: { mode?: "monolithic" | "chunked"; chunkSize?: number };
  /** Proxy settings, or `false` to never use a proxy. Default: from the environment. */
  proxy?: ProxyOptions | false;
  /** Connection timeout in ms (default 30000). */
  connectTimeoutMs?: number;
  /**
   * A request that moves no bytes either way for this long fails (retryable), in ms (default
   * 30000; 0 = never). Catches a registry that stalls mid-response or stops reading an upload.
   */
  idleTimeoutMs?: number;
  /**
   * The longest one registry operation (a manifest or blob request with all its retries, a
   * whole blob transfer) may take, in ms (default 1800000 = 30 min; 0 = no cap). Catches a
   * registry that trickles bytes too slowly for the idle timeout to fire. Not retried.
   */
  operationTimeoutMs?: number;
  /** User-Agent header (default `molt`). */
  userAgent?: string;
}
