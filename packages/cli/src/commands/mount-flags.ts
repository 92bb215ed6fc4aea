import { type BuildOptions, parseSecretFlag, parseSshFlag } from "@molt/core";
import { UsageError } from "../io.js";

/** The `molt build` flags of `RUN --mount` (BuildKit's names). */
export const MOUNT_FLAGS = {
  secret: { type: "string", multiple: true },
  ssh: { type: "string", multiple: true },
  "cache-mount-dir": { type: "string" },
  "cache-mount-repo": { type: "string" },
} as const;

/** The `--help` lines of {@link MOUNT_FLAGS}. */
export const MOUNT_HELP = `      --secret id=ID,src=FILE|env=VAR  build secret for RUN --mount=type=secret; repeatable
      --ssh default|ID=SOCKET_OR_KEY[,…]  SSH agent for RUN --mount=type=ssh; repeatable
      --cache-mount-dir DIR          where RUN --mount=type=cache persists (default ~/.cache/molt/cache-mounts)
      --cache-mount-repo REPO        pull cache mounts from REPO when missing here, push changed ones after the build`;

/** Applies the parsed mount flags to `options`; malformed values are {@link UsageError}s. */
export function applyMountFlags(
  values: { secret?: string[]; ssh?: string[]; "cache-mount-dir"?: string; "cache-mount-repo"?: string },
  options: Pick<BuildOptions, "secrets" | "ssh" | "cacheMounts">,
  usage: string,
): void {
  for (const v of values.secret ?? []) {
    const r = parseSecretFlag(v);
    if ("error" in r) throw new UsageError(`--secret: ${r.error}`, usage);
    options.secrets = { ...options.secrets, [r.id]: r.source };
  }
  for (const v of values.ssh ?? []) {
    const r = parseSshFlag(v);
    if ("error" in r) throw new UsageError(`--ssh: ${r.error}`, usage);
    options.ssh = { ...options.ssh, [r.id]: r.paths };
  }
  if (values["cache-mount-dir"] !== undefined)
    options.cacheMounts = { ...options.cacheMounts, dir: values["cache-mount-dir"] };
  if (values["cache-mount-repo"] !== undefined)
    options.cacheMounts = { ...options.cacheMounts, repo: values["cache-mount-repo"] };
}
