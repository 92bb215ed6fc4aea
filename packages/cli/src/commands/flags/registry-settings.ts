import type { RegistrySettings, RegistryTransportSettings } from "@molt/core";
import type { FlagTarget } from "./types.js";

/**
 * Where kaniko's registry flags land in `BuildOptions.registries`: the host (`"*"` for the
 * flags that name no host: every registry pulled from or pushed to) and the direction
 * (`undefined` for both).
 */
export function registrySettings(t: FlagTarget, host: string): RegistrySettings {
  t.options.registries ??= {};
  t.options.registries[host] ??= {};
  return t.options.registries[host];
}

/** Sets (or clears, for `--flag=false`) one transport field of a host, for one direction or both. */
export function setTransport(
  t: FlagTarget,
  host: string,
  direction: "pull" | "push" | undefined,
  field: keyof RegistryTransportSettings,
  on: boolean,
): void {
  const s = registrySettings(t, host);
  const into = direction ? (s[direction] ??= {}) : s;
  if (on) into[field] = true;
  else delete into[field];
}
