import { readFileSync } from "node:fs";
import { parseReference, type Reference } from "@molt/oci";
import type { RegistryClientOptions, RegistryTlsOptions, RetryOptions } from "@molt/registry-client";
import { InvalidBuildOptionsError } from "../errors.js";
import type { BuildOptions } from "../options.js";
import type { RegistrySettings, RegistryTransportSettings } from "./settings.js";
import type { RetrySettings } from "./transport-settings.js";

/**
 * Turns `BuildOptions.registries` (and the other registry options) into registry client
 * options. Each direction keeps its own sets: a `pull` setting never weakens a push, even to
 * the same host. The key `"*"` stands for the hosts this build pulls from (FROM, `COPY --from`
 * and `--mount from=` images) or pushes to (destinations and the cache repository).
 */
export function registryClientOptions(
  options: BuildOptions,
  destinations: readonly Reference[],
  baseImages: readonly string[],
): RegistryClientOptions {
  const pushHosts = destinations.map((d) => d.registry);
  const pullHosts = baseImages.flatMap((b) => {
    if (b === "scratch") return [];
    try {
      return [parseReference(b).registry];
    } catch {
      return []; // not a plain reference yet (an unexpanded ARG): its pull reports it
    }
  });
  const pull = { insecure: new Set<string>(), skipTlsVerify: new Set<string>() };
  const push = { insecure: new Set<string>(), skipTlsVerify: new Set<string>() };
  const add = (into: typeof pull, hosts: readonly string[], s: RegistryTransportSettings | undefined) => {
    for (const h of hosts) {
      if (s?.insecure) into.insecure.add(h);
      if (s?.skipTlsVerify) into.skipTlsVerify.add(h);
    }
  };
  const tls: Record<string, RegistryTlsOptions> = {};
  for (const [host, s] of Object.entries(options.registries ?? {})) {
    const pulls = host === "*" ? pullHosts : [host];
    const pushes = host === "*" ? pushHosts : [host];
    add(pull, pulls, s);
    add(push, pushes, s);
    add(pull, pulls, s.pull);
    add(push, pushes, s.push);
    const material = tlsMaterial(s);
    if (material) for (const h of host === "*" ? [...pullHosts, ...pushHosts] : [host]) tls[h] = material;
  }
  const out: RegistryClientOptions = {
    pull: { insecure: [...pull.insecure], skipTlsVerify: [...pull.skipTlsVerify] },
    push: { insecure: [...push.insecure], skipTlsVerify: [...push.skipTlsVerify] },
  };
  if (Object.keys(tls).length > 0) out.tls = tls;
  const maps: Record<string, string[]> = {};
  const noFallback: string[] = [];
  for (const [host, s] of Object.entries(options.registries ?? {})) {
    if (!s.mirrors?.length) continue;
    if (host === "*")
      throw new InvalidBuildOptionsError('registries["*"] cannot have mirrors: name the host they mirror');
    maps[host] = [...s.mirrors];
    if (s.mirrorFallback === false) noFallback.push(host);
  }
  if (Object.keys(maps).length > 0) out.registryMaps = maps;
  if (noFallback.length > 0) out.skipDefaultRegistryFallback = noFallback;
  if (options.credentials) out.credentials = options.credentials;
  const retry = retryOptions(options.retry);
  if (retry) out.retry = retry;
  if (options.timeouts?.idleMs !== undefined) out.idleTimeoutMs = options.timeouts.idleMs;
  if (options.timeouts?.operationMs !== undefined) out.operationTimeoutMs = options.timeouts.operationMs;
  return out;
}

/** `BuildOptions.retry` as the client's retry options (`attempts` counts the first try). */
function retryOptions(retry: RetrySettings | undefined): RetryOptions | undefined {
  if (!retry) return undefined;
  const out: RetryOptions = {};
  if (retry.attempts !== undefined) {
    if (!Number.isInteger(retry.attempts) || retry.attempts < 1)
      throw new InvalidBuildOptionsError(
        `retry.attempts must be a whole number of tries, at least 1 (got ${retry.attempts})`,
      );
    out.retries = retry.attempts - 1;
  }
  if (retry.minDelayMs !== undefined) out.minDelayMs = retry.minDelayMs;
  if (retry.maxDelayMs !== undefined) out.maxDelayMs = retry.maxDelayMs;
  return out;
}

/** The CA and client certificate of one host's settings (files read now), if any. */
function tlsMaterial(s: RegistrySettings): RegistryTlsOptions | undefined {
  const out: RegistryTlsOptions = {};
  const cas = [...(s.ca === undefined ? [] : Array.isArray(s.ca) ? s.ca : [s.ca])];
  if (s.caFile) cas.push(readFileSync(s.caFile));
  if (cas.length === 1) out.ca = cas[0]!;
  else if (cas.length > 1) out.ca = cas;
  const cert = s.cert ?? (s.certFile ? readFileSync(s.certFile) : undefined);
  const key = s.key ?? (s.keyFile ? readFileSync(s.keyFile) : undefined);
  if (cert !== undefined) out.cert = cert;
  if (key !== undefined) out.key = key;
  return Object.keys(out).length > 0 ? out : undefined;
}
