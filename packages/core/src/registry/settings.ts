/**
 * Transport security of one registry in one direction. Both default to false: HTTPS with the
 * certificate verified.
 */
export interface RegistryTransportSettings {
  /** Talk plain HTTP (kaniko `--insecure` for pushes, `--insecure-pull` for pulls). */
  insecure?: boolean;
  /** Do not verify the TLS certificate (kaniko `--skip-tls-verify`, `--skip-tls-verify-pull`). */
  skipTlsVerify?: boolean;
}

/**
 * Settings of one registry host (`BuildOptions.registries`): transport security for both
 * directions (top level) or for one (`pull`, `push`), and TLS material. A push carries
 * credentials, so weakening `pull` never weakens a push to the same host. `insecure` or
 * `skipTlsVerify` at the top level applies to both directions.
 *
 * @example
 * ```ts
 * import { build } from "molt";
 * await build({
 *   context: ".",
 *   destinations: ["registry.internal:5000/app:1"],
 *   registries: {
 *     "*": { pull: { insecure: true } }, // every registry the build pulls from: plain HTTP
 *     "registry.internal:5000": { push: { skipTlsVerify: true } }, // this one, for pushes only
 *     "ghcr.io": { caFile: "/etc/ssl/corp-ca.pem" },
 *   },
 * });
 * ```
 */
export interface RegistrySettings extends RegistryTransportSettings {
  /** Settings for reading from this registry only (base images, `COPY --from` images, cache reads). */
  pull?: RegistryTransportSettings;
  /** Settings for writing to this registry only (destinations, cache writes, the permission check). */
  push?: RegistryTransportSettings;
  /** Extra CA certificates (PEM) trusted for this host, added to the system roots (both directions). */
  ca?: string | Buffer | Array<string | Buffer>;
  /** A file of extra CA certificates (PEM), read when the build starts (kaniko `--registry-certificate`). */
  caFile?: string;
  /** Client certificate (PEM) for mutual TLS. */
  cert?: string | Buffer;
  /** Private key (PEM) of `cert`. */
  key?: string | Buffer;
  /** Client certificate and key files, read when the build starts (kaniko `--registry-client-cert`). */
  certFile?: string;
  /** See `certFile`. */
  keyFile?: string;
  /**
   * Registries to pull this host's images from first, tried in order (`host[:port]`, an optional
   * path prefix, `http://` for plain HTTP): `mirror.gcr.io` for `docker.io`, or
   * `mirror.example/ghcr` for `ghcr.io`. Only pulls use them. Not allowed on `"*"`. (The CLI puts
   * kaniko's `--registry-mirror` here for `docker.io`, and `--registry-map FROM=TO` for `FROM`.)
   */
  mirrors?: string[];
  /**
   * With `mirrors`: after every mirror failed, pull from this host itself (default true). `false`
   * never asks the host (kaniko's `--skip-default-registry-fallback`).
   */
  mirrorFallback?: boolean;
}

/**
 * Registry settings by host (`host[:port]`, as in image references: `docker.io`,
 * `127.0.0.1:5000`). The key `"*"` means every registry this build pulls from (for its
 * `pull` / top-level fields) or pushes to (for `push` / top-level fields); a host's own entry adds
 * to it.
 */
export type RegistriesSettings = Record<string, RegistrySettings>;
