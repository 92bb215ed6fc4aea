/**
 * `RUN --mount`: bind, cache, tmpfs, secret and ssh mounts, as the Dockerfile reference
 * describes them. See the package README, "RUN --mount".
 */

export type { CacheDirSpec } from "./cache-store.js";
export { type CacheLease, CacheMountStore, defaultCacheMountDir } from "./cache-store.js";
export * from "./errors.js";
export type { CacheMountOptions } from "./options.js";
export { parseSecretFlag, readSecret, type SecretSource } from "./secrets.js";
export { parseSshFlag, type SshSource } from "./ssh.js";
export { type CacheMountExport, CacheMountTravel, cacheMountTag } from "./travel.js";
export type { BindRunMount, RunMount, TmpfsRunMount } from "./types.js";
