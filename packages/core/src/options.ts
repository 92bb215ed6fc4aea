import type { ContextSource, GitContextOptions } from "@molt/context-source";
import type { Registry, RegistryClientOptions } from "@molt/registry-client";
import type { ExtractLimits, Extractor, SnapshotterFactory } from "@molt/snapshotter";
import type { CacheOptions } from "./cache/cache-options.js";
import type { BuildProgressEvent } from "./events.js";
import type { CacheMountOptions } from "./mounts/options.js";
import type { SecretSource } from "./mounts/secrets.js";
import type { RegistriesSettings } from "./registry/settings.js";
import type { RetrySettings, TimeoutSettings } from "./registry/transport-settings.js";
import type { Runner } from "./runner/index.js";

/** One place the image goes (`BuildOptions.outputs`). */
export type BuildOutput =
  | { type: "registry"; ref: string }
  | { type: "oci-layout"; path: string }
  | { type: "docker-archive"; path: string };

/**
 * What to build and where to put it, shaped for a program: the CLI translates kaniko's flags
 * into these (the flag each option answers is named beside it).
 *
 * @example
 * ```ts
 * await build({ context: ".", dockerfile: "Dockerfile", destinations: ["registry.example/app:1.2"] });
 * ```
 */
export interface BuildOptions {
  /** The build context: a directory path, or a URL a registered context source understands. */
  context: string | ContextSource;
  /** The Dockerfile: a path (relative paths are resolved against a directory context, else the cwd). Default `Dockerfile`. */
  dockerfile?: string;
  /** The Dockerfile's text, instead of reading `dockerfile`; `dockerfile` then only names it in errors. */
  dockerfileText?: string;
  /**
   * Where the image goes, as a list: registries, an OCI layout, a docker archive. The same as
   * `destinations`, `ociLayoutPath` and `tarPath` (which the CLI's kaniko flags set), shaped
   * for a program.
   *
   * @example
   * ```ts
   * await build({ context: ".", outputs: [{ type: "registry", ref: "reg.example/app:1" }, { type: "oci-layout", path: "out/app" }] });
   * ```
   */
  outputs?: BuildOutput[];
  /** Image references to push to (`-d/--destination`). */
  destinations?: string[];
  /** Build but push nothing (`--no-push`). */
  noPush?: boolean;
  /** Also write the image to this OCI image layout directory (`--oci-layout-path`). */
  ociLayoutPath?: string;
  /** Write the manifest digest of the image to this file (`--digest-file`). */
  digestFile?: string;
  /** Labels added to the image after the Dockerfile's own (`--label`). */
  labels?: Record<string, string>;
  /** Values for ARGs (`--build-arg`). */
  buildArgs?: Record<string, string>;
  /** Stage to build (`--target`); default the last. */
  target?: string;
  /** Target platform `os/arch[/variant]` (`--custom-platform`); default linux/amd64. */
  platform?: string;
  /** Layer compression (`--compression`); default gzip. zstd needs the `zstd` program. */
  compression?: "gzip" | "zstd" | "none";
  /** Compression level (`--compression-level`): gzip 0–9 (default 6), zstd 1–19 (default 3). */
  compressionLevel?: number;
  /**
   * Reproducible output (`--reproducible`): timestamps in layers, config and history are set
   * from {@link BuildOptions.sourceDateEpoch}, or the Unix epoch when it is unset. The library
   * reads no environment variable: the CLI passes `SOURCE_DATE_EPOCH` as `sourceDateEpoch`.
   */
  reproducible?: boolean;
  /**
   * Keep sub-second file times in layers (`--subsecond-mtimes`), as PAX records. Default off:
   * times are truncated to whole seconds as Docker and BuildKit write them, which keeps every
   * ordinary tar entry to one 512-byte header.
   */
  subsecondMtimes?: boolean;
  /**
   * COPY, ADD and WORKDIR onto a base image read what they need (does the destination exist,
   * its parents' modes and owners, `/etc/passwd` for `--chown` names) from an index of the
   * layers instead of extracting them (default true). The index is made by streaming each layer
   * once, or read from the cache (`--cache-dir`, `--cache-repo`), where it is kept by diff_id.
   * `false` extracts the base first, as a RUN does. The image is the same either way.
   */
  baseIndex?: boolean;
  /**
   * Seconds since the epoch used for every timestamp in layers, config and history (what
   * `SOURCE_DATE_EPOCH` means to the CLI). Wins over `reproducible`'s 0.
   */
  sourceDateEpoch?: number;
  /** Manifest format (`--image-format`): default follows the base image (OCI for scratch), as docker does. */
  imageFormat?: "oci" | "docker";
  /** Also write a `docker load`-able tarball here (`--tar-path`). */
  tarPath?: string;
  /** Write `registry/repo@digest` lines, one per destination (`--image-name-with-digest-file`). */
  imageNameWithDigestFile?: string;
  /** Write `registry/repo:tag@digest` lines, one per destination (`--image-name-tag-with-digest-file`). */
  imageNameTagWithDigestFile?: string;
  /** A directory inside the context to use as its root (`--context-sub-path`). */
  contextSubPath?: string;
  /**
   * Registry settings by host and direction: plain HTTP, TLS verification, CAs and client
   * certificates, and mirrors to pull from first (`"*"`: every registry the build pulls from or
   * pushes to). Nothing is weakened unless named here. The CLI translates kaniko's `--insecure`,
   * `--insecure-pull`, `--insecure-registry`, `--skip-tls-verify*`, `--registry-certificate`,
   * `--registry-client-cert`, `--registry-mirror`, `--registry-map` and
   * `--skip-default-registry-fallback` into this.
   *
   * @example
   * ```ts
   * await build({
   *   context: ".",
   *   destinations: ["127.0.0.1:5000/app:1"],
   *   registries: { "127.0.0.1:5000": { insecure: true }, "docker.io": { mirrors: ["mirror.gcr.io"] } },
   * });
   * ```
   */
  registries?: RegistriesSettings;
  /** How failed registry requests are retried (`--push-retry` / `--image-download-retry` N: `attempts` N + 1); default 5 tries. */
  retry?: RetrySettings;
  /** How long registry requests may take (`--registry-idle-timeout`, `--registry-timeout`). */
  timeouts?: TimeoutSettings;
  /**
   * Do not check, before the first step, that every destination accepts a push
   * (`--skip-push-permission-check`). Destinations are always parsed up front.
   */
  skipPushPermissionCheck?: boolean;
  /** How RUN executes: `auto` (default) picks the best runner the host allows; or your own {@link Runner}. */
  runner?: "auto" | "chroot" | "rootless" | "in-place" | Runner;
  /** Allow the `in-place` runner, where the stage root is `/` of a throwaway container (kaniko's model). */
  allowInPlace?: boolean;
  /** Paths (as the container sees them) whose changes RUN never records (`--ignore-path`), e.g. `/var/cache`. */
  ignorePaths?: string[];
  /** How RUN's changes are found: `auto` (overlay where mounting works, else walk), `walk` or `overlay`. */
  snapshotMode?: "auto" | "walk" | "overlay";
  /**
   * Makes the snapshotter that diffs a stage's root after each RUN (and for `singleSnapshot`),
   * once molt has extracted the layers into it; default `createSnapshotter`. Receives
   * `snapshotMode` as `options.mode`.
   */
  snapshotter?: SnapshotterFactory;
  /**
   * Writes image layers into a stage root when molt materialises one (a stage that RUNs, a
   * `COPY --from` image, `singleSnapshot`, and each layer molt applies onto such a root
   * afterwards); default molt's `extract`. A wrapper sees every layer it is given, in order.
   * Stages that materialise the same layers at the same time call it once and copy the tree,
   * and COPY onto a base reads the layer index instead (see `baseIndex`), so neither calls it.
   * With an extractor, stage roots are not taken from a directory cache's snapshot store: each
   * is made through it.
   */
  extractor?: Extractor;
  /**
   * Build secrets for `RUN --mount=type=secret` by id (`--secret id=x,src=FILE|env=VAR`). Values
   * never reach a layer, the config, history, a cache key, an event, an error or debug output.
   */
  secrets?: Record<string, SecretSource>;
  /**
   * SSH agents for `RUN --mount=type=ssh` by id (`--ssh default|ID=PATH[,PATH]`): agent sockets or
   * private key files.
   */
  ssh?: Record<string, readonly string[]>;
  /**
   * `RUN --mount=type=cache` directories: where they persist between builds and the registry
   * repository they travel through (`--cache-mount-dir`, `--cache-mount-repo`).
   */
  cacheMounts?: CacheMountOptions;
  /** Annotations of the image manifest (`--annotation`). */
  annotations?: Record<string, string>;
  /** A push refused because the tag is immutable (the registry says so) is a warning, not a failure. */
  pushIgnoreImmutableTagErrors?: boolean;
  /** One layer for all the target stage's changes instead of one per instruction (`--single-snapshot`). */
  singleSnapshot?: boolean;
  /** Credentials tried before the docker credential chain: per host, or a function asked per host. */
  credentials?: RegistryClientOptions["credentials"];
  /** How a git context is fetched (`--git branch=…,depth=…`). */
  git?: GitContextOptions;
  /**
   * The layer cache: its stores (registry repositories, local directories, your own
   * {@link LayerCache}s), consulted in order and all written, and what is cached. No cache
   * without it. The CLI builds it from `--cache`, `--cache-repo`, `--cache-dir` (in that
   * order: the directory first), `--cache-ttl`, `--cache-run-layers`, `--cache-copy-layers`,
   * `--no-push-cache`, `--no-cache`, `--no-cache-filter`, `--cache-normalize-modes` and
   * `--cache-max-bytes`.
   *
   * @example
   * ```ts
   * await build({ context: ".", destinations: ["reg.example/app:1"], cache: { stores: [{ type: "registry", repo: "reg.example/app/cache" }] } });
   * ```
   */
  cache?: CacheOptions;
  /**
   * The registry every pull and push goes through, instead of a `RegistryClient` built from these
   * options (whose registry settings then do not apply): your own {@link Registry}, e.g. a wrapper
   * around a `RegistryClient` that records or redirects calls. The caller closes it.
   */
  registry?: Registry;
  /**
   * Caps on what extracting one stage's image (or one ADD archive) may write, against layer
   * bombs (`--max-extract-size`, `--max-extract-file-size`, `--max-extract-entries`); fields left
   * out keep their generous defaults (`DEFAULT_EXTRACT_LIMITS`: 64 GiB, 16 GiB, 10M entries).
   * `false` turns them off (`--no-extract-limits`).
   */
  extractLimits?: ExtractLimits | false;
  /** Directory for temporary files; default the OS temp dir. Everything made there is removed. */
  tmpDir?: string;
  /** Aborts the build; temporary files are removed. */
  signal?: AbortSignal;
  /**
   * Stages built at once (`--jobs`): every stage whose dependencies are done starts, up to this
   * many; default the number of CPUs. `1` builds them one after another in Dockerfile order.
   * The image is the same whatever the value.
   */
  jobs?: number;
  /** Receives progress events. */
  onProgress?: (event: BuildProgressEvent) => void;
}
