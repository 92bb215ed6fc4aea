import { readFileSync } from "node:fs";
import { parseReference, type Reference } from "@molt/oci";
import type { RegistryClientOptions } from "@molt/registry-client";
import type { BuildOptions } from "../options.js";

/**
 * Translates kaniko-style build options into registry client options: which hosts are plain
 * HTTP, which skip TLS verification, custom CAs and client certificates, Docker Hub mirrors.
 * Push-side flags apply to destination registries, pull-side flags to base-image registries.
 */
export function registryClientOptions(
  options: BuildOptions,
  destinations: readonly Reference[],
  baseImages: readonly string[],
): RegistryClientOptions {
  const pushHosts = destinations.map((d) => d.registry);
  const pullHosts = baseImages.filter((b) => b !== "scratch").map((b) => parseReference(b).registry);
  const insecure = new Set(options.insecureRegistries ?? []);
  if (options.insecure) for (const h of pushHosts) insecure.add(h);
  if (options.insecurePull) for (const h of pullHosts) insecure.add(h);
  const skip = new Set(options.skipTlsVerifyRegistries ?? []);
  if (options.skipTlsVerify) for (const h of pushHosts) skip.add(h);
  if (options.skipTlsVerifyPull) for (const h of pullHosts) skip.add(h);
  const tls: NonNullable<RegistryClientOptions["tls"]> = {};
  for (const [host, caPath] of Object.entries(options.registryCertificates ?? {})) {
    tls[host] = { ...(tls[host] ?? {}), ca: readFileSync(caPath) };
  }
  for (const [host, { cert, key }] of Object.entries(options.registryClientCerts ?? {})) {
    tls[host] = { ...(tls[host] ?? {}), cert: readFileSync(cert), key: readFileSync(key) };
  }
  const out: RegistryClientOptions = { insecure: [...insecure], skipTlsVerify: [...skip] };
  if (Object.keys(tls).length > 0) out.tls = tls;
  if (options.registryMirrors?.length) out.mirrors = options.registryMirrors;
  if (options.registryRetries !== undefined) out.retry = { retries: options.registryRetries };
  return out;
}
