import type { FlagRow } from "./types.js";

const group = "cache" as const;

/**
 * kaniko's cache flags. They parse here; what each does belongs to the cache work (rows
 * without `apply` record their value in `BuildFlags.values` and warn that they are not
 * implemented yet, until their owner gives them an `apply`).
 */
export const CACHE_FLAGS: FlagRow[] = [
  { name: "cache", type: "boolean", group, help: "use a layer cache" },
  {
    name: "cache-repo",
    type: "string",
    group,
    arg: "REPO",
    help: "registry repository (or oci:DIR) of cached layers",
  },
  { name: "cache-dir", type: "string", group, arg: "DIR", help: "local directory of cached base images" },
  {
    name: "cache-ttl",
    type: "string",
    group,
    arg: "DURATION",
    help: "how long a cached layer is used (default 336h)",
  },
  { name: "cache-copy-layers", type: "boolean", group, help: "cache COPY layers too" },
  { name: "cache-run-layers", type: "boolean", group, help: "cache RUN layers (default true)" },
  { name: "no-push-cache", type: "boolean", group, help: "read the cache, push nothing to it" },
  { name: "compressed-caching", type: "boolean", group, help: "compress cached layers (default true)" },
  {
    name: "dryrun",
    type: "boolean",
    group,
    help: "print the plan, build nothing",
  },
];
