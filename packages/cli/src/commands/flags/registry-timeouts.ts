import type { FlagRow } from "./types.js";
import { str, usage } from "./values.js";

const group = "registries" as const;

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** `"30s"` → 30000, `"1.5m"` → 90000, `"250ms"` → 250, `"45"` → 45000 (seconds); `undefined` when it is not a duration. */
export function parseDuration(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h)?$/i.exec(text.trim());
  if (!m) return undefined;
  const ms = Math.round(Number(m[1]) * (UNITS[(m[2] ?? "s").toLowerCase()] ?? 1000));
  return Number.isSafeInteger(ms) ? ms : undefined;
}

function duration(flag: string, text: string): number {
  const ms = parseDuration(text);
  if (ms === undefined) throw usage(`--${flag} expects a duration like 30s, 5m or 0, got "${text}"`);
  return ms;
}

/** Time limits on registry requests (issue 15: a stalled registry must not block a build). */
export const REGISTRY_TIMEOUT_ROWS: FlagRow[] = [
  {
    name: "registry-idle-timeout",
    type: "string",
    group,
    arg: "DUR",
    help: "fail a registry request that sends and receives nothing for DUR (default 30s; 0 = never)",
    apply: (v, t) => {
      t.options.timeouts = { ...t.options.timeouts, idleMs: duration("registry-idle-timeout", str(v)) };
    },
  },
  {
    name: "registry-timeout",
    type: "string",
    group,
    arg: "DUR",
    help: "cap one registry operation, retries included (default 30m; 0 = no cap)",
    apply: (v, t) => {
      t.options.timeouts = { ...t.options.timeouts, operationMs: duration("registry-timeout", str(v)) };
    },
  },
];
