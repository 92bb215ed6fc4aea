import createDebug from "debug";
import type { Credential } from "../credentials/types.js";
import type { RegistryDirection } from "../options.js";
import { type Challenge, parseChallenges } from "./challenge.js";
import { fetchToken, type HttpSend, type IssuedToken } from "./token.js";

const debug = createDebug("molt:registry:auth");

/** Finds the credential for a host (and repository, for repository-scoped podman entries). */
export type CredentialLookup = (host: string, repository?: string) => Promise<Credential | undefined>;

/** The token scope for a repository: `repository:NAME:ACTIONS`. */
export function repositoryScope(
  repository: string,
  actions: "pull" | "pull,push" | "pull,push,delete",
): string {
  return `repository:${repository}:${actions}`;
}

/**
 * The direction a request with these scopes moves an image: `push` when any scope asks for
 * push access, else `pull`. Transport settings (plain HTTP, unverified TLS) are chosen by it.
 */
export function directionOf(scopes: readonly string[]): RegistryDirection {
  for (const s of scopes) {
    const i = s.lastIndexOf(":");
    if (
      i > 0 &&
      s
        .slice(i + 1)
        .split(",")
        .includes("push")
    )
      return "push";
  }
  return "pull";
}

/**
 * Merges scopes naming the same resource: `repository:a:pull` and `repository:a:pull,push`
 * become `repository:a:pull,push`. Order of first appearance is kept.
 */
export function mergeScopes(scopes: string[]): string[] {
  const byResource = new Map<string, Set<string>>();
  const other: string[] = [];
  for (const s of scopes) {
    const i = s.lastIndexOf(":");
    if (i <= 0 || !s.slice(0, i).includes(":")) {
      if (!other.includes(s)) other.push(s);
      continue;
    }
    const resource = s.slice(0, i);
    const set = byResource.get(resource) ?? new Set<string>();
    for (const a of s.slice(i + 1).split(",")) if (a) set.add(a);
    byResource.set(resource, set);
  }
  const out = [...byResource].map(([resource, actions]) => `${resource}:${[...actions].sort().join(",")}`);
  return [...out, ...other];
}

/**
 * Produces `Authorization` headers per host and scope. It learns each host's challenge from its
 * first 401, then fetches (and caches per scope, until expiry) bearer tokens, or sends Basic
 * credentials. Headers are only ever produced for the host they belong to.
 */
export class Authenticator {
  readonly #challenges = new Map<string, Challenge>();
  readonly #tokens = new Map<string, IssuedToken>();
  readonly #inflight = new Map<string, Promise<IssuedToken>>();
  readonly #credentials = new Map<string, Promise<Credential | undefined>>();

  constructor(
    private readonly lookup: CredentialLookup,
    private readonly send: HttpSend,
    private readonly clientId: string,
  ) {}

  /** Secrets known for a host, so error messages can be scrubbed of them. */
  async secrets(host: string, repository?: string): Promise<string[]> {
    const c = await this.#credential(host, repository);
    if (!c) return [];
    if ("registryToken" in c) return [c.registryToken];
    if ("identityToken" in c) return [c.identityToken];
    return [c.password];
  }

  #credential(host: string, repository?: string): Promise<Credential | undefined> {
    const key = `${host}|${repository ?? ""}`;
    let p = this.#credentials.get(key);
    if (!p) {
      p = this.lookup(host, repository);
      this.#credentials.set(key, p);
      p.catch(() => this.#credentials.delete(key));
    }
    return p;
  }

  #tokenKey(host: string, scopes: string[]): string {
    return `${host}|${[...new Set(scopes)].sort().join(" ")}`;
  }

  /**
   * The `Authorization` header for a request to `host` needing `scopes`, or `undefined` when the
   * host has not asked for auth (yet) or there is nothing to send.
   */
  async header(
    host: string,
    repository: string | undefined,
    scopes: string[],
    signal?: AbortSignal,
  ): Promise<string | undefined> {
    const challenge = this.#challenges.get(host);
    if (!challenge) return undefined;
    const cred = await this.#credential(host, repository);
    if (challenge.scheme === "basic") {
      if (!cred || !("password" in cred)) return undefined;
      return `Basic ${Buffer.from(`${cred.username}:${cred.password}`).toString("base64")}`;
    }
    if (challenge.scheme !== "bearer") return undefined;
    if (cred && "registryToken" in cred) return `Bearer ${cred.registryToken}`;
    const key = this.#tokenKey(host, scopes);
    const cached = this.#tokens.get(key);
    if (cached && cached.expiresAt > Date.now()) return `Bearer ${cached.token}`;
    let p = this.#inflight.get(key);
    if (!p) {
      const realm = challenge.params.realm ?? "";
      debug("%s: fetching token for %s", host, scopes.join(" ") || "(no scope)");
      p = fetchToken(this.send, {
        registry: host,
        repository,
        realm,
        service: challenge.params.service,
        scopes: [...new Set(scopes)],
        credential: cred,
        signal,
        clientId: this.clientId,
        direction: directionOf(scopes),
      });
      this.#inflight.set(key, p);
      p.then(
        (t) => {
          this.#tokens.set(key, t);
          this.#inflight.delete(key);
        },
        () => this.#inflight.delete(key),
      );
    }
    return `Bearer ${(await p).token}`;
  }

  /**
   * Records a 401's challenge for `host` and forgets the token used for `scopes` (it was refused
   * or expired). Returns the scopes to ask for next: the requested ones plus any scope the
   * challenge names. `undefined` when the challenge offers no scheme the client supports.
   */
  unauthorized(
    host: string,
    scopes: string[],
    wwwAuthenticate: string | string[] | undefined,
  ): string[] | undefined {
    const all = parseChallenges(wwwAuthenticate);
    const chosen =
      all.find((c) => c.scheme === "bearer" && c.params.realm) ?? all.find((c) => c.scheme === "basic");
    this.#tokens.delete(this.#tokenKey(host, scopes));
    if (!chosen) return undefined;
    this.#challenges.set(host, chosen);
    const extra = chosen.params.scope ? chosen.params.scope.split(" ").filter(Boolean) : [];
    return mergeScopes([...scopes, ...extra]);
  }
}
