import { type Credential, type CredentialProvider, runCredentialHelper } from "@molt/registry-client";
import { UsageError } from "./io.js";

/** kaniko's built-in credential helpers and the registries each answers for. */
const HELPERS: Record<string, { hosts: RegExp; program?: string }> = {
  google: { hosts: /(^|\.)gcr\.io$|-docker\.pkg\.dev$/, program: "gcr" },
  ecr: { hosts: /\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com(\.cn)?$/, program: "ecr-login" },
  acr: { hosts: /\.azurecr\.(io|cn|de|us)$/, program: "acr-env" },
  gitlab: { hosts: /^$/ },
};

/**
 * kaniko's `--credential-helpers NAME…` as a credential provider. kaniko links these helpers
 * into its binary; molt runs the same helpers as the programs their vendors ship
 * (`docker-credential-gcr`, `-ecr-login`, `-acr-env`) for their registries' host names, and
 * `gitlab` reads GitLab CI's variables (`CI_REGISTRY` with `CI_REGISTRY_USER`/`CI_REGISTRY_PASSWORD`,
 * else `gitlab-ci-token` with `CI_JOB_TOKEN`). A helper that is not installed is skipped, so
 * the docker config chain (`config.json`, `credHelpers`, `credsStore`) still answers.
 */
export function kanikoCredentialHelpers(
  names: readonly string[],
  env: NodeJS.ProcessEnv,
): CredentialProvider {
  for (const n of names) {
    if (!(n in HELPERS))
      throw new UsageError(
        `--credential-helpers: unknown helper "${n}" (google, ecr, acr, gitlab)`,
        "usage: molt build --credential-helpers google|ecr|acr|gitlab ...",
      );
  }
  const active = new Set(names);
  return async (host: string): Promise<Credential | undefined> => {
    if (active.has("gitlab") && env.CI_REGISTRY && hostOf(env.CI_REGISTRY) === host) {
      if (env.CI_REGISTRY_USER && env.CI_REGISTRY_PASSWORD)
        return { username: env.CI_REGISTRY_USER, password: env.CI_REGISTRY_PASSWORD };
      if (env.CI_JOB_TOKEN) return { username: "gitlab-ci-token", password: env.CI_JOB_TOKEN };
    }
    for (const name of active) {
      const h = HELPERS[name]!;
      if (!h.program || !h.hosts.test(host)) continue;
      try {
        return await runCredentialHelper(h.program, host, env);
      } catch {
        // Not installed or failed: leave it to the docker config chain.
      }
    }
    return undefined;
  };
}

function hostOf(registry: string): string {
  return registry.replace(/^https?:\/\//, "").replace(/\/.*$/, "");
}
