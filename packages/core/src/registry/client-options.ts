import { readFileSync } from "node:fs";
import { parseReference, type Reference } from "@molt/oci";
import type { RegistryClientOptions } from "@molt/registry-client";
import type { BuildOptions } from "../options.js";

/**
 * Translates kaniko-style build options into registry client options: which hosts are plain
 * HTTP, which skip TLS verification, custom CAs and client certificates, Docker Hub mirrors.
 * Push-side flags apply to destination registries, pull-side flags to base-image registries,
 * each in its own direction only: `--insecure-pull` and `--skip-tls-verify-pull` never weaken a
 * push, even to the same host; `--insecure-registry` and `--skip-tls-verify-registry` weaken both.
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
  // Kept per direction: a push carries credentials, so pull-side flags never weaken it.
  const pushInsecure = options.insecure ? pushHosts : [];
  const pullInsecure = options.insecurePull ? pullHosts : [];
  const pushSkip = options.skipTlsVerify ? pushHosts : [];
  const pullSkip = options.skipTlsVerifyPull ? pullHosts : [];
  const tls: NonNullable<RegistryClientOptions["tls"]> = {};
  for (const [host, caPath] of Object.entries(options.registryCertificates ?? {})) {
    tls[host] = { ...(tls[host] ?? {}), ca: readFileSync(caPath) };
  }
  for (const [host, { cert, key }] of Object.entries(options.registryClientCerts ?? {})) {
    tls[host] = { ...(tls[host] ?? {}), cert: readFileSync(cert), key: readFileSync(key) };
  }
  const out: RegistryClientOptions = {
    insecure: [...new Set(options.insecureRegistries ?? [])],
    skipTlsVerify: [...new Set(options.skipTlsVerifyRegistries ?? [])],
    pull: { insecure: [...new Set(pullInsecure)], skipTlsVerify: [...new Set(pullSkip)] },
    push: { insecure: [...new Set(pushInsecure)], skipTlsVerify: [...new Set(pushSkip)] },
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
