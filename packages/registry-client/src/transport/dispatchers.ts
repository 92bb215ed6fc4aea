import type { Dispatcher } from "undici";
import type {
  ProxyOptions,
  RegistryClientOptions,
  RegistryDirection,
  RegistryTlsOptions,
} from "../options.js";
import { proxyFor, proxyFromEnv } from "./proxy.js";

// undici (with node:http, http2, tls, net, assert and diagnostics_channel, which it loads) and
// node:tls are imported when the first pool is made: a build that sends no request (FROM
// scratch to a layout, `--help`) never loads them (issue 16: ~15 ms of start-up).
let undiciParts: Promise<typeof import("./undici-parts.js")> | undefined;
let tlsModule: Promise<typeof import("node:tls")> | undefined;

/**
 * Keeps one keep-alive connection pool per TLS profile (and per proxy), and answers which
 * dispatcher and scheme a host is reached with in a direction. Hosts are matched as given
 * (`host[:port]`). Pull-only settings never reach a push: the sets are kept per direction.
 */
export class Dispatchers {
  readonly #insecure: Record<RegistryDirection, Set<string>>;
  readonly #skipVerify: Record<RegistryDirection, Set<string>>;
  readonly #tls: Record<string, RegistryTlsOptions>;
  readonly #proxy: ProxyOptions;
  readonly #proxyFromEnv: boolean;
  readonly #connectTimeout: number;
  readonly #idleTimeout: number;
  readonly #pools = new Map<string, Dispatcher>();

  constructor(options: RegistryClientOptions) {
    const both = (common: string[] | undefined, only: string[] | undefined) =>
      new Set([...(common ?? []), ...(only ?? [])]);
    this.#insecure = {
      pull: both(options.insecure, options.pull?.insecure),
      push: both(options.insecure, options.push?.insecure),
    };
    this.#skipVerify = {
      pull: both(options.skipTlsVerify, options.pull?.skipTlsVerify),
      push: both(options.skipTlsVerify, options.push?.skipTlsVerify),
    };
    this.#tls = options.tls ?? {};
    this.#proxyFromEnv = options.proxy === undefined;
    this.#proxy = options.proxy === false ? {} : (options.proxy ?? proxyFromEnv(options.env ?? process.env));
    this.#connectTimeout = options.connectTimeoutMs ?? 30_000;
    this.#idleTimeout = options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
  }

  /** `http` for hosts marked insecure in that direction, else `https`. */
  scheme(host: string, direction: RegistryDirection): "http" | "https" {
    return this.#insecure[direction].has(host) ? "http" : "https";
  }

  /** True when the host was marked insecure (plain HTTP) in that direction. */
  isInsecure(host: string, direction: RegistryDirection): boolean {
    return this.#insecure[direction].has(host);
  }

  /**
   * The dispatcher for a URL in a direction: a pool with that host's TLS settings for the
   * direction, through a proxy when one applies. A pool that skips verification is never
   * shared with a request that must verify.
   */
  async for(url: URL, direction: RegistryDirection): Promise<Dispatcher> {
    const host = url.host;
    const tlsOpts = this.#tls[host];
    const skip = this.#skipVerify[direction].has(host);
    const proxy = proxyFor(url, this.#proxy, this.#proxyFromEnv);
    const key = `${proxy ?? "direct"}|${tlsOpts || skip ? host : "*"}|${skip ? "unverified" : "verified"}`;
    let d = this.#pools.get(key);
    if (!d) {
      const { Agent, ProxyAgent } = await (undiciParts ??= import("./undici-parts.js"));
      const roots = tlsOpts?.ca ? (await (tlsModule ??= import("node:tls"))).rootCertificates : [];
      // Another request may have made this pool while the imports were awaited.
      const made = this.#pools.get(key);
      if (made) return made;
      const connect: Record<string, unknown> = { timeout: this.#connectTimeout };
      if (skip) connect.rejectUnauthorized = false;
      if (tlsOpts?.ca) {
        const extra = Array.isArray(tlsOpts.ca) ? tlsOpts.ca : [tlsOpts.ca];
        connect.ca = [...roots, ...extra];
      }
      if (tlsOpts?.cert) connect.cert = tlsOpts.cert;
      if (tlsOpts?.key) connect.key = tlsOpts.key;
      // The idle timeout is undici's two progress timers: no answer while the upload makes no
      // progress (refreshed by every write that fills the socket), and no body bytes while we
      // are not applying backpressure (a slow reader never trips it).
      const common = {
        keepAliveTimeout: 30_000,
        connections: 16,
        pipelining: 1,
        headersTimeout: this.#idleTimeout,
        bodyTimeout: this.#idleTimeout,
      };
      d = proxy
        ? new ProxyAgent({
            uri: proxy,
            requestTls: connect,
            connect: { timeout: this.#connectTimeout },
            ...common,
          })
        : new Agent({ connect, ...common });
      this.#pools.set(key, d);
    }
    return d;
  }

  /** Closes every pool. */
  async close(): Promise<void> {
    const all = [...this.#pools.values()];
    this.#pools.clear();
    await Promise.allSettled(all.map((d) => d.close()));
  }
}

/** The default idle timeout: a request that moves no bytes for 30 s fails. */
export const DEFAULT_IDLE_TIMEOUT_MS = 30_000;
