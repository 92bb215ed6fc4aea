import type { BuildOptions } from "@molt/core";
import { UsageError } from "../io.js";

/** The flags that cap extraction (against layer bombs), merged into `molt build`'s flag table. */
export const EXTRACT_LIMIT_FLAGS = {
  "max-extract-size": { type: "string" },
  "max-extract-file-size": { type: "string" },
  "max-extract-entries": { type: "string" },
  "no-extract-limits": { type: "boolean" },
} as const;

/** The `molt build --help` lines of {@link EXTRACT_LIMIT_FLAGS}. */
export const EXTRACT_LIMIT_HELP = `extraction limits (against layer bombs; per stage image or ADD archive):
      --max-extract-size SIZE        total file bytes (default 64G; SIZE like 512M, 2G, 1T or bytes)
      --max-extract-file-size SIZE   one file (default 16G)
      --max-extract-entries N        entries (default 10000000)
      --no-extract-limits            no limits`;

const UNITS: Record<string, number> = { "": 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4 };

/** `"512M"` → 536870912 (binary units, optional `B`/`iB`); `undefined` when it is not a size. */
export function parseSize(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)\s*([KMGT]?)(?:i?B)?$/i.exec(text.trim());
  if (!m) return undefined;
  const n = Math.floor(Number(m[1]) * UNITS[m[2]!.toUpperCase()]!);
  return Number.isSafeInteger(n) && n > 0 ? n : undefined;
}

/** Reads {@link EXTRACT_LIMIT_FLAGS} into `options.extractLimits` (left unset when none is given). */
export function applyExtractLimitFlags(
  values: {
    "max-extract-size"?: string | undefined;
    "max-extract-file-size"?: string | undefined;
    "max-extract-entries"?: string | undefined;
    "no-extract-limits"?: boolean | undefined;
  },
  options: Pick<BuildOptions, "extractLimits">,
  usage: string,
): void {
  const size = (flag: "max-extract-size" | "max-extract-file-size") => {
    const v = values[flag];
    if (v === undefined) return undefined;
    const n = parseSize(v);
    if (n === undefined) throw new UsageError(`--${flag} expects a size like 512M or 2G, got "${v}"`, usage);
    return n;
  };
  const bytes = size("max-extract-size");
  const fileBytes = size("max-extract-file-size");
  let entries: number | undefined;
  const e = values["max-extract-entries"];
  if (e !== undefined) {
    entries = Number(e);
    if (!Number.isSafeInteger(entries) || entries <= 0)
      throw new UsageError(`--max-extract-entries expects a positive number, got "${e}"`, usage);
  }
  if (values["no-extract-limits"]) {
    if (bytes !== undefined || fileBytes !== undefined || entries !== undefined)
      throw new UsageError("--no-extract-limits cannot be combined with --max-extract-*", usage);
    options.extractLimits = false;
    return;
  }
  if (bytes === undefined && fileBytes === undefined && entries === undefined) return;
  options.extractLimits = {
    ...(bytes !== undefined ? { bytes } : {}),
    ...(fileBytes !== undefined ? { fileBytes } : {}),
    ...(entries !== undefined ? { entries } : {}),
  };
}
