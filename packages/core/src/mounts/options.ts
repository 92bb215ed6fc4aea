/** Where `RUN --mount=type=cache` directories live (`BuildOptions.cacheMounts`). */
export interface CacheMountOptions {
  /**
   * Where they persist between builds (`--cache-mount-dir`); default
   * `$XDG_CACHE_HOME/molt/cache-mounts` (else `~/.cache/molt/cache-mounts`).
   */
  dir?: string;
  /**
   * Cache mounts that travel (`--cache-mount-repo`): a registry repository where each cache id
   * is pulled from on its first mount when this machine lacks it, and pushed to after a
   * successful build when its content changed (tag `mount-<sha256(id)>`, one tar+zstd layer).
   */
  repo?: string;
}
