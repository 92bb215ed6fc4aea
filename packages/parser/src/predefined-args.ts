import { formatPlatform, type Platform } from "@molt/oci";

/** The proxy build arguments every build accepts without an `ARG` (and keeps out of history). */
export const PROXY_ARGS: readonly string[] = [
  "HTTP_PROXY",
  "http_proxy",
  "HTTPS_PROXY",
  "https_proxy",
  "FTP_PROXY",
  "ftp_proxy",
  "NO_PROXY",
  "no_proxy",
  "ALL_PROXY",
  "all_proxy",
];

/** Names of the automatic platform arguments. */
export const PLATFORM_ARGS: readonly string[] = [
  "TARGETPLATFORM",
  "TARGETOS",
  "TARGETARCH",
  "TARGETVARIANT",
  "BUILDPLATFORM",
  "BUILDOS",
  "BUILDARCH",
  "BUILDVARIANT",
];

/** True for a build argument that is predefined (platform, `TARGETSTAGE` or proxy). */
export function isPredefinedArg(name: string): boolean {
  return PLATFORM_ARGS.includes(name) || PROXY_ARGS.includes(name) || name === "TARGETSTAGE";
}

/**
 * The values of the automatic platform arguments (`TARGETPLATFORM`, `TARGETOS`, `TARGETARCH`,
 * `TARGETVARIANT`, `BUILDPLATFORM`, `BUILDOS`, `BUILDARCH`, `BUILDVARIANT`) and, when given,
 * `TARGETSTAGE`. They are visible in FROM lines without declaration; inside a stage they need an
 * `ARG NAME` without value, like any other build argument.
 *
 * @param target The platform being built for.
 * @param build The platform the build runs on (default: same as `target`).
 * @param targetStage The name of the target stage, for `TARGETSTAGE`.
 * @example
 * ```ts
 * predefinedArgs({ os: "linux", architecture: "arm64", variant: "v8" }).TARGETARCH; // "arm64"
 * ```
 */
export function predefinedArgs(
  target: Platform,
  build: Platform = target,
  targetStage?: string,
): Record<string, string> {
  const out: Record<string, string> = {
    TARGETPLATFORM: formatPlatform(target),
    TARGETOS: target.os,
    TARGETARCH: target.architecture,
    TARGETVARIANT: target.variant ?? "",
    BUILDPLATFORM: formatPlatform(build),
    BUILDOS: build.os,
    BUILDARCH: build.architecture,
    BUILDVARIANT: build.variant ?? "",
  };
  if (targetStage !== undefined) out.TARGETSTAGE = targetStage;
  return out;
}
