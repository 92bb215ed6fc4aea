import { readFileSync } from "node:fs";
import { parseReference, type Reference } from "@molt/oci";
import type { RegistryClientOptions, RegistryTlsOptions } from "@molt/registry-client";
import type { BuildOptions } from "../options.js";
import type { RegistrySettings, RegistryTransportSettings } from "./settings.js";

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
  if (options.registryMirrors?.length) out.mirrors = options.registryMirrors;
  if (options.registryMaps && Object.keys(options.registryMaps).length > 0)
    out.registryMaps = options.registryMaps;
  if (options.skipDefaultRegistryFallback) out.skipDefaultRegistryFallback = true;
  if (options.credentials) out.credentials = options.credentials;
  if (options.registryRetries !== undefined) out.retry = { retries: options.registryRetries };
  if (options.registryIdleTimeoutMs !== undefined) out.idleTimeoutMs = options.registryIdleTimeoutMs;
  if (options.registryTimeoutMs !== undefined) out.operationTimeoutMs = options.registryTimeoutMs;
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
