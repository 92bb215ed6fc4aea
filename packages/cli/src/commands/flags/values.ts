import { UsageError } from "../../io.js";
import type { FlagValue } from "./types.js";

/** The usage line of `molt build`, repeated under every flag error. */
export const BUILD_USAGE =
  "usage: molt build [-c CONTEXT] [-f DOCKERFILE] [-d DEST]... [--no-push] [--oci-layout-path DIR] [--tar-path FILE] [--digest-file FILE] [--insecure] [--insecure-pull] [--label K=V]... [--build-arg K[=V]]... [--target STAGE] [--reproducible] [... see molt build --help]";

/** A usage error of `molt build`. */
export function usage(message: string): UsageError {
  return new UsageError(message, BUILD_USAGE);
}

/** The value as a string (the last one given). */
export function str(v: FlagValue): string {
  return Array.isArray(v) ? (v[v.length - 1] ?? "") : String(v);
}

/** The value as a list (a repeatable flag's items). */
export function list(v: FlagValue): string[] {
  return Array.isArray(v) ? v : typeof v === "string" ? [v] : [];
}

/** The value as a boolean. */
export function bool(v: FlagValue): boolean {
  return v === true;
}

/**
 * `K=V` items into a record. `K` alone takes its value from `env` when `fromEnv` is given (a
 * bare `--build-arg K`), else it is a usage error.
 */
export function keyValues(
  items: string[],
  flag: string,
  fromEnv?: NodeJS.ProcessEnv,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of items) {
    const eq = item.indexOf("=");
    if (eq <= 0) {
      if (!fromEnv || eq === 0) throw usage(`--${flag} expects KEY=VALUE, got "${item}"`);
      const env = fromEnv[item];
      if (env !== undefined) out[item] = env;
      continue;
    }
    out[item.slice(0, eq)] = item.slice(eq + 1);
  }
  return out;
}

/** Checks an enumerated flag value. */
export function oneOf<T extends string>(value: string, flag: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(value)) {
    throw usage(`--${flag} must be one of ${allowed.join(", ")}; got "${value}"`);
  }
  return value as T;
}

/** An integer in `[min, max]`. */
export function int(value: string, flag: string, min: number, max: number, what: string): number {
  const n = Number(value);
  if (value.trim() === "" || !Number.isInteger(n) || n < min || n > max)
    throw usage(`--${flag} expects ${what}, got "${value}"`);
  return n;
}
