import { DEFAULT_EXTRACT_LIMITS, type ExtractLimits } from "@molt/snapshotter";
import type { BuildOptions } from "../options.js";

/**
 * The limits every extraction of a build uses (base layers, `COPY --from` images, ADD archives):
 * {@link DEFAULT_EXTRACT_LIMITS} with the caller's fields on top, or none when the caller passed
 * `extractLimits: false`.
 */
export function extractLimits(options: Pick<BuildOptions, "extractLimits">): ExtractLimits | undefined {
  const given = options.extractLimits;
  if (given === false) return undefined;
  return { ...DEFAULT_EXTRACT_LIMITS, ...given };
}
