import { UsageError } from "../../io.js";
import type { FlagRow, FlagValue } from "./types.js";

/** One flag occurrence found on the command line, in order. */
export interface FlagOccurrence {
  row: FlagRow;
  /** The name as the user wrote it (an alias or the short form, for messages). */
  spelled: string;
  value: string | boolean;
}

/**
 * Reads a command line the way kaniko's pflag does: `--name value`, `--name=value`, `-c value`,
 * `-cvalue`, `-c=value`; booleans as `--flag`, `--flag=true` or `--flag=false`; `--` ends flags.
 * Unknown flags, missing values and positional arguments are {@link UsageError}s.
 */
export function tokenize(argv: readonly string[], rows: readonly FlagRow[], usage: string): FlagOccurrence[] {
  const long = new Map<string, FlagRow>();
  const short = new Map<string, FlagRow>();
  for (const r of rows) {
    long.set(r.name, r);
    for (const a of r.aliases ?? []) long.set(a, r);
    if (r.short) short.set(r.short, r);
  }
  const out: FlagOccurrence[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === "--") {
      if (i + 1 < argv.length) throw new UsageError(`Unexpected argument '${argv[i + 1]}'`, usage);
      break;
    }
    let row: FlagRow | undefined;
    let spelled: string;
    let inline: string | undefined;
    if (arg.startsWith("--")) {
      const eq = arg.indexOf("=");
      const name = eq < 0 ? arg.slice(2) : arg.slice(2, eq);
      inline = eq < 0 ? undefined : arg.slice(eq + 1);
      spelled = `--${name}`;
      row = long.get(name);
    } else if (arg.startsWith("-") && arg.length > 1) {
      spelled = `-${arg[1]}`;
      row = short.get(arg[1] as string);
      const rest = arg.slice(2);
      inline = rest === "" ? undefined : rest.startsWith("=") ? rest.slice(1) : rest;
    } else {
      throw new UsageError(`Unexpected argument '${arg}'`, usage);
    }
    if (!row) throw new UsageError(`Unknown option '${spelled}'`, usage);
    if (row.type === "boolean") {
      if (inline === undefined) out.push({ row, spelled, value: true });
      else if (/^(true|1|t|yes)$/i.test(inline)) out.push({ row, spelled, value: true });
      else if (/^(false|0|f|no)$/i.test(inline)) out.push({ row, spelled, value: false });
      else throw new UsageError(`${spelled} takes true or false, got "${inline}"`, usage);
      continue;
    }
    if (inline === undefined) {
      const next = argv[i + 1];
      if (next === undefined) {
        const named = spelled === `--${row.name}` ? spelled : `${spelled} (--${row.name})`;
        throw new UsageError(`Option '${named}' argument missing`, usage);
      }
      inline = next;
      i++;
    }
    out.push({ row, spelled, value: inline });
  }
  return out;
}

/** Folds occurrences into one value per row: the last one wins, repeatable flags collect a list. */
export function collect(occurrences: readonly FlagOccurrence[]): Map<FlagRow, FlagValue> {
  const values = new Map<FlagRow, FlagValue>();
  for (const o of occurrences) {
    if (o.row.multiple && typeof o.value === "string") {
      const prev = values.get(o.row);
      values.set(o.row, [...(Array.isArray(prev) ? prev : []), o.value]);
    } else {
      values.set(o.row, o.value);
    }
  }
  return values;
}
