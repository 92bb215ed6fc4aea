import type { ContextSource } from "@molt/context-source";
import type { RegistryClient } from "@molt/registry-client";
import type { BuildProgressEvent } from "./events.js";

/**
 * What to build and where to put it. Names follow kaniko's flags.
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
  /** Image references to push to (`-d/--destination`). */
  destinations?: string[];
  /** Build but push nothing (`--no-push`). */
  noPush?: boolean;
  /** Also write the image to this OCI image layout directory (`--oci-layout-path`). */
  ociLayoutPath?: string;
  /** Write the manifest digest of the image to this file (`--digest-file`). */
  digestFile?: string;
  /** Push to destination registries over plain HTTP (`--insecure`). */
  insecure?: boolean;
  /** Pull base images over plain HTTP (`--insecure-pull`). */
  insecurePull?: boolean;
  /** Registries (host[:port]) reached over plain HTTP for both pull and push (`--insecure-registry`). */
  insecureRegistries?: string[];
  /** Labels added to the image after the Dockerfile's own (`--label`). */
  labels?: Record<string, string>;
  /** Values for ARGs (`--build-arg`). */
  buildArgs?: Record<string, string>;
  /** Stage to build (`--target`); default the last. */
  target?: string;
  /** Target platform `os/arch[/variant]` (`--custom-platform`); default linux/amd64. */
  platform?: string;
  /** A registry client to use instead of one built from these options. */
  registryClient?: RegistryClient;
  /** Directory for temporary files; default the OS temp dir. Everything made there is removed. */
  tmpDir?: string;
  /** Aborts the build; temporary files are removed. */
  signal?: AbortSignal;
  /** Receives progress events. */
  onProgress?: (event: BuildProgressEvent) => void;
}
