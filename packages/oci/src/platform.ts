/** An OCI platform: the operating system and CPU an image runs on. */
export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
  "os.version"?: string;
  "os.features"?: string[];
}

/** The platform molt builds for unless told otherwise. */
export const DEFAULT_PLATFORM: Platform = { os: "linux", architecture: "amd64" };

/**
 * Parses `os/arch[/variant]` (e.g. `linux/arm64/v8`).
 * @throws Error when the text has fewer than two parts, or is a comma-separated list (one platform per build).
 */
export function parsePlatform(text: string): Platform {
  if (text.includes(",")) {
    throw new Error(
      `invalid platform "${text}": one platform per build (a comma-separated list is not supported)`,
    );
  }
  const parts = text.split("/");
  if (parts.length < 2 || parts.length > 3 || parts.some((p) => p === "")) {
    throw new Error(`invalid platform "${text}": expected os/arch[/variant]`);
  }
  const p: Platform = { os: parts[0]!, architecture: parts[1]! };
  if (parts[2]) p.variant = parts[2];
  return p;
}

/** Formats a platform as `os/arch[/variant]`. */
export function formatPlatform(p: Platform): string {
  return [p.os, p.architecture, p.variant].filter(Boolean).join("/");
}

/**
 * True when `candidate` satisfies `wanted`: same os and architecture, and the same variant when
 * `wanted` names one (arm64 treats a missing variant as `v8`).
 */
export function platformMatches(candidate: Platform, wanted: Platform): boolean {
  if (candidate.os !== wanted.os || candidate.architecture !== wanted.architecture) return false;
  if (!wanted.variant) return true;
  const norm = (v: string | undefined) => (candidate.architecture === "arm64" ? (v ?? "v8") : v);
  return norm(candidate.variant) === norm(wanted.variant);
}
