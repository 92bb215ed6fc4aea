import { homedir } from "node:os";
import { join } from "node:path";
import createDebug from "debug";
import { type AuthConfigFile, entryCredential, keyHost, readAuthConfig } from "./config-file.js";
import { runCredentialHelper } from "./helper.js";
import type { Credential } from "./types.js";

const debug = createDebug("molt:registry:auth");

/** Host names under which Docker Hub credentials may be stored. */
const HUB_ALIASES = ["docker.io", "index.docker.io", "registry-1.docker.io"];
/** The server URL docker uses for Docker Hub in config files and helper calls. */
export const HUB_SERVER_URL = "https://index.docker.io/v1/";

/** Options of {@link resolveCredential}. */
export interface CredentialChainOptions {
  env?: NodeJS.ProcessEnv;
}

function isHub(host: string): boolean {
  return HUB_ALIASES.includes(host);
}

/** The names a host may appear under in a config file. */
function hostAliases(host: string): string[] {
  return isHub(host) ? HUB_ALIASES : [host];
}

/** Finds the entry of `map` whose key names `host` (and, for podman, `host/namespace…`). */
function lookup<T>(map: Record<string, T> | undefined, host: string, repository?: string): T | undefined {
  if (!map) return undefined;
  const aliases = hostAliases(host);
  // podman allows repository-scoped keys: the most specific wins.
  if (repository) {
    const parts = repository.split("/");
    for (let n = parts.length; n > 0; n--) {
      const prefix = parts.slice(0, n).join("/");
      for (const a of aliases) {
        const v = map[`${a}/${prefix}`];
        if (v !== undefined) return v;
      }
    }
  }
  for (const [key, value] of Object.entries(map)) {
    const hasScheme = /^https?:\/\//.test(key);
    if (!hasScheme && key.includes("/")) continue; // repository-scoped (podman): matched above
    if (aliases.includes(keyHost(key))) return value;
  }
  return undefined;
}

/** The docker `config.json` path: `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`. */
export function dockerConfigPath(env: NodeJS.ProcessEnv): string {
  const dir = env.DOCKER_CONFIG || join(env.HOME || homedir(), ".docker");
  return join(dir, "config.json");
}

/** podman/skopeo `auth.json` locations, in the order they are consulted. */
export function podmanAuthPaths(env: NodeJS.ProcessEnv): string[] {
  const paths: string[] = [];
  if (env.REGISTRY_AUTH_FILE) paths.push(env.REGISTRY_AUTH_FILE);
  if (env.XDG_RUNTIME_DIR) paths.push(join(env.XDG_RUNTIME_DIR, "containers", "auth.json"));
  const configHome = env.XDG_CONFIG_HOME || join(env.HOME || homedir(), ".config");
  paths.push(join(configHome, "containers", "auth.json"));
  return paths;
}

type Outcome = { found: true; credential: Credential | undefined } | { found: false };

async function fromFile(
  file: string,
  cfg: AuthConfigFile,
  host: string,
  repository: string | undefined,
  env: NodeJS.ProcessEnv,
): Promise<Outcome> {
  const serverUrl = isHub(host) ? HUB_SERVER_URL : host;
  const helper = lookup(cfg.credHelpers, host);
  if (helper) {
    debug("%s: credential helper %s", host, helper);
    return { found: true, credential: await runCredentialHelper(helper, serverUrl, env) };
  }
  if (cfg.credsStore) {
    debug("%s: credential store %s", host, cfg.credsStore);
    const c = await runCredentialHelper(cfg.credsStore, serverUrl, env);
    if (c) return { found: true, credential: c };
  }
  const entry = lookup(cfg.auths, host, repository);
  if (entry) {
    const c = entryCredential(entry, file);
    if (c) {
      debug("%s: credential from %s", host, file);
      return { found: true, credential: c };
    }
  }
  return { found: false };
}

/**
 * Finds the credential for `host` the way docker does: `$DOCKER_CONFIG/config.json` (else
 * `~/.docker/config.json`) — `credHelpers[host]`, then `credsStore`, then `auths[host]` — then
 * podman's files (`REGISTRY_AUTH_FILE`, `$XDG_RUNTIME_DIR/containers/auth.json`,
 * `~/.config/containers/auth.json`). `undefined` means anonymous. A missing file is anonymous;
 * a helper's "credentials not found" answer is anonymous.
 *
 * @example
 * ```ts
 * const cred = await resolveCredential("ghcr.io"); // { username, password } | undefined
 * ```
 */
export async function resolveCredential(
  host: string,
  repository?: string,
  options: CredentialChainOptions = {},
): Promise<Credential | undefined> {
  const env = options.env ?? process.env;
  const files = [dockerConfigPath(env), ...podmanAuthPaths(env)];
  for (const file of files) {
    const cfg = await readAuthConfig(file);
    if (!cfg) continue;
    const outcome = await fromFile(file, cfg, host, repository, env);
    if (outcome.found) return outcome.credential;
  }
  debug("%s: anonymous", host);
  return undefined;
}
