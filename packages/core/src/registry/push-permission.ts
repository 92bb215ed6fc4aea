import { formatReference, parseReference, type Reference } from "@molt/oci";
import type { Registry } from "@molt/registry-client";
import { type CacheOptions, resolveCacheOptions } from "../cache/cache-options.js";

/**
 * Checks, before the first step, that every destination repository accepts a push (kaniko does
 * this unless `--skip-push-permission-check`): one started-then-cancelled upload per
 * repository, all at once. Throws the first failure, whose message names the destination
 * (`check push permission to reg/app: …`), so a build never runs only to fail at its push.
 */
export async function checkPushPermissions(
  client: Registry,
  destinations: readonly Reference[],
  options: { signal?: AbortSignal } = {},
): Promise<void> {
  const repos = new Map<string, Reference>();
  for (const d of destinations) {
    const key = formatReference({ registry: d.registry, repository: d.repository });
    if (!repos.has(key)) repos.set(key, d);
  }
  await Promise.all([...repos.values()].map((ref) => client.checkPushPermission(ref, options)));
}

/**
 * The cache repositories this build will push to, checked with the destinations (kaniko checks
 * `--cache-repo` too): the layer cache's registry stores unless `cache.push` is false (then they
 * are only read), and `cacheMounts.repo`, where changed cache mounts are pushed after the build.
 */
export function cachePushTargets(options: {
  cache?: CacheOptions | undefined;
  cacheMounts?: { repo?: string | undefined } | undefined;
}): Reference[] {
  const c = resolveCacheOptions(options.cache);
  const out: Reference[] = [];
  if (!c.readOnly) for (const repo of c.repos) out.push(parseReference(repo));
  if (options.cacheMounts?.repo) out.push(parseReference(options.cacheMounts.repo));
  return out;
}
