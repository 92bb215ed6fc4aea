import { applyExtractLimitFlags } from "../extract-limit-flags.js";
import type { FlagRow, FlagTarget, FlagValue } from "./types.js";
import { BUILD_USAGE, bool, str } from "./values.js";

const group = "RUN and snapshots" as const;

type LimitValues = Parameters<typeof applyExtractLimitFlags>[0];
const seen = new WeakMap<FlagTarget, LimitValues>();

/** Records one limit flag and re-reads all of them (their combination rules live in `../extract-limit-flags.ts`). */
function limit(name: keyof LimitValues) {
  return (v: FlagValue, t: FlagTarget) => {
    const values = seen.get(t) ?? {};
    seen.set(t, values);
    if (name === "no-extract-limits") values[name] = bool(v);
    else values[name] = str(v);
    applyExtractLimitFlags(values, t.options, BUILD_USAGE);
  };
}

/** Caps on extraction, against layer bombs (per stage image or ADD archive). */
export const EXTRACT_LIMIT_ROWS: FlagRow[] = [
  {
    name: "max-extract-size",
    type: "string",
    group,
    arg: "SIZE",
    help: "total file bytes extracted (default 64G; SIZE like 512M, 2G, 1T or bytes)",
    apply: limit("max-extract-size"),
  },
  {
    name: "max-extract-file-size",
    type: "string",
    group,
    arg: "SIZE",
    help: "one extracted file (default 16G)",
    apply: limit("max-extract-file-size"),
  },
  {
    name: "max-extract-entries",
    type: "string",
    group,
    arg: "N",
    help: "extracted entries (default 10000000)",
    apply: limit("max-extract-entries"),
  },
  {
    name: "no-extract-limits",
    type: "boolean",
    group,
    help: "no extraction limits",
    apply: limit("no-extract-limits"),
  },
];
