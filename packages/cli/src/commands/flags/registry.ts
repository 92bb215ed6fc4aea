import { kanikoCredentialHelpers } from "../../credential-helpers.js";
import { registrySettings, setTransport } from "./registry-settings.js";
import type { FlagRow, FlagTarget } from "./types.js";
import { bool, int, keyValues, list, str, usage } from "./values.js";

const group = "registries" as const;

/** Flags for registries: plain HTTP, TLS, mirrors and maps, retries, credentials. */
export const REGISTRY_FLAGS: FlagRow[] = [
  {
    name: "insecure",
    type: "boolean",
    group,
    help: "plain HTTP for destination registries",
    apply: (v, t) => {
      setTransport(t, "*", "push", "insecure", bool(v));
    },
  },
  {
    name: "insecure-pull",
    type: "boolean",
    group,
    help: "plain HTTP for base-image registries",
    apply: (v, t) => {
      setTransport(t, "*", "pull", "insecure", bool(v));
    },
  },
  {
    name: "insecure-registry",
    type: "string",
    multiple: true,
    group,
    arg: "HOST",
    help: "plain HTTP for HOST, push and pull; repeatable",
    apply: (v, t) => {
      for (const host of list(v)) setTransport(t, host, undefined, "insecure", true);
    },
  },
  {
    name: "skip-tls-verify",
    type: "boolean",
    group,
    help: "do not verify TLS certificates of destination registries",
    apply: (v, t) => {
      setTransport(t, "*", "push", "skipTlsVerify", bool(v));
    },
  },
  {
    name: "skip-tls-verify-pull",
    type: "boolean",
    group,
    help: "do not verify TLS certificates of base-image registries",
    apply: (v, t) => {
      setTransport(t, "*", "pull", "skipTlsVerify", bool(v));
    },
  },
  {
    name: "skip-tls-verify-registry",
    type: "string",
    multiple: true,
    group,
    arg: "HOST",
    help: "do not verify HOST's TLS certificate; repeatable",
    apply: (v, t) => {
      for (const host of list(v)) setTransport(t, host, undefined, "skipTlsVerify", true);
    },
  },
  {
    name: "registry-certificate",
    type: "string",
    multiple: true,
    group,
    arg: "HOST=CA.pem",
    help: "trust this CA for HOST; repeatable",
    apply: (v, t) => {
      for (const [host, path] of Object.entries(keyValues(list(v), "registry-certificate")))
        registrySettings(t, host).caFile = path;
    },
  },
  {
    name: "registry-client-cert",
    type: "string",
    multiple: true,
    group,
    arg: "HOST=CERT,KEY",
    help: "mutual TLS with HOST; repeatable",
    apply: (v, t) => {
      for (const [host, pair] of Object.entries(keyValues(list(v), "registry-client-cert"))) {
        const [cert, key] = pair.split(",");
        if (!cert || !key) throw usage(`--registry-client-cert expects HOST=CERT,KEY, got "${host}=${pair}"`);
        Object.assign(registrySettings(t, host), { certFile: cert, keyFile: key });
      }
    },
  },
  {
    name: "registry-mirror",
    type: "string",
    multiple: true,
    group,
    arg: "HOST",
    help: "Docker Hub mirror tried before docker.io; repeatable (also KANIKO_REGISTRY_MIRROR)",
    apply: (v, t) => {
      t.cli.registryMirrors = list(v);
    },
  },
  {
    name: "registry-map",
    type: "string",
    multiple: true,
    group,
    arg: "FROM=TO[;FROM=TO]",
    help: "pull images of registry FROM from TO instead (tried in order, then FROM); repeatable (also KANIKO_REGISTRY_MAP)",
    apply: (v, t) => {
      t.cli.registryMaps = parseRegistryMap(list(v));
    },
  },
  {
    name: "skip-default-registry-fallback",
    type: "boolean",
    group,
    help: "when mirrors or maps are given, never fall back to the original registry",
    apply: (v, t) => {
      t.cli.skipDefaultRegistryFallback = bool(v);
    },
  },
  {
    name: "push-retry",
    type: "string",
    group,
    arg: "N",
    help: "retries of failed registry requests (default 4; the larger of this and --image-download-retry)",
    apply: (v, t) => {
      retries(t, int(str(v), "push-retry", 0, 100, "a number of retries"));
    },
  },
  {
    name: "image-download-retry",
    type: "string",
    group,
    arg: "N",
    help: "retries of failed registry requests (see --push-retry)",
    apply: (v, t) => {
      retries(t, int(str(v), "image-download-retry", 0, 100, "a number of retries"));
    },
  },
  {
    name: "credential-helpers",
    type: "string",
    multiple: true,
    group,
    arg: "NAME",
    help: "kaniko's built-in helpers: google, ecr, acr, gitlab (default all; '' for none); see README",
    apply: (v, t) => {
      const names = list(v)
        .flatMap((s) => s.split(","))
        .filter((s) => s !== "");
      t.options.credentials = kanikoCredentialHelpers(names, t.env);
    },
  },
  {
    name: "skip-push-permission-check",
    type: "boolean",
    group,
    help: "do not check that destinations accept a push before building",
    apply: (v, t) => {
      t.options.skipPushPermissionCheck = bool(v);
    },
  },
];

/** kaniko's `--registry-map` values: `a=b;c=d`, one registry may map to several. */
/** kaniko's N retries (the larger of `--push-retry` and `--image-download-retry`) are N + 1 tries. */
function retries(t: FlagTarget, n: number): void {
  t.options.retry = { ...t.options.retry, attempts: Math.max(t.options.retry?.attempts ?? 1, n + 1) };
}

/** Docker Hub's names in kaniko's `--registry-map` (all of them mean `docker.io`). */
const HUB_ALIASES = ["docker.io", "index.docker.io", "registry-1.docker.io"];

/**
 * After every row applied: `--registry-map FROM=TO` and `--registry-mirror` become
 * `registries[host].mirrors` (Docker Hub's maps first, then its mirrors, as kaniko tries them),
 * and `--skip-default-registry-fallback` sets `mirrorFallback: false` on each of those hosts.
 */
export function finishRegistryMirrors(t: FlagTarget): void {
  const mirrors = new Map<string, string[]>();
  const add = (host: string, list: readonly string[]) => {
    if (list.length > 0) mirrors.set(host, [...(mirrors.get(host) ?? []), ...list]);
  };
  const maps = t.cli.registryMaps ?? {};
  for (const alias of HUB_ALIASES) add("docker.io", maps[alias] ?? []);
  for (const [from, to] of Object.entries(maps)) if (!HUB_ALIASES.includes(from)) add(from, to as string[]);
  add("docker.io", t.cli.registryMirrors ?? []);
  for (const [host, list] of mirrors) {
    const s = registrySettings(t, host);
    s.mirrors = list;
    if (t.cli.skipDefaultRegistryFallback) s.mirrorFallback = false;
  }
}

export function parseRegistryMap(items: string[]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const item of items) {
    for (const part of item.split(";")) {
      if (part.trim() === "") continue;
      const eq = part.indexOf("=");
      if (eq <= 0 || eq === part.length - 1) throw usage(`--registry-map expects FROM=TO, got "${part}"`);
      const from = part.slice(0, eq).trim();
      (out[from] ??= []).push(part.slice(eq + 1).trim());
    }
  }
  return out;
}
