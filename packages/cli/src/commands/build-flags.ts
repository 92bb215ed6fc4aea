import { collect, tokenize } from "./flags/argv.js";
import { CACHE_FLAGS, finishCacheFlags } from "./flags/cache.js";
import { CONTEXT_FLAGS } from "./flags/context.js";
import { EXTRACT_LIMIT_ROWS } from "./flags/extract-limits.js";
import { KANIKO_FLAGS } from "./flags/kaniko.js";
import { LOGGING_FLAGS } from "./flags/logging.js";
import { MOUNT_FLAG_ROWS } from "./flags/mounts.js";
import { OUTPUT_FLAGS } from "./flags/outputs.js";
import { finishRegistryMirrors, REGISTRY_FLAGS } from "./flags/registry.js";
import { REGISTRY_TIMEOUT_ROWS } from "./flags/registry-timeouts.js";
import { RUN_FLAGS } from "./flags/run.js";
import {
  type CliSettings,
  FLAG_GROUPS,
  type FlagRow,
  type FlagTarget,
  type FlagValue,
} from "./flags/types.js";
import { BUILD_USAGE, usage } from "./flags/values.js";

export type { CliSettings, FlagRow, FlagValue };
export { BUILD_USAGE };

/**
 * Every flag `molt build` takes, one row each (kaniko's 68 executor flags and molt's own). To
 * add a flag, add a row to the file in `flags/` for its area; parsing, `--help`, warnings for
 * flags with no meaning and the README table all come from these rows.
 */
export const BUILD_FLAG_ROWS: readonly FlagRow[] = [
  ...CONTEXT_FLAGS,
  ...OUTPUT_FLAGS,
  ...REGISTRY_FLAGS,
  ...REGISTRY_TIMEOUT_ROWS,
  ...RUN_FLAGS,
  ...MOUNT_FLAG_ROWS,
  ...EXTRACT_LIMIT_ROWS,
  ...CACHE_FLAGS,
  ...LOGGING_FLAGS,
  ...KANIKO_FLAGS,
];

/** The full flag list printed by `molt build --help`, generated from {@link BUILD_FLAG_ROWS}. */
export const BUILD_HELP = helpText(BUILD_FLAG_ROWS);

/** The parsed `molt build` command line. */
export interface BuildFlags {
  /** Options for `build()`. */
  options: FlagTarget["options"];
  /** `-v/--verbosity` level. */
  verbosity: string;
  /** `-h/--help` was given. */
  help: boolean;
  /** Settings of the CLI itself (logging format, progress display, dry run). */
  cli: CliSettings;
  /** Warnings to print before building: flags with no meaning here, deprecated spellings. */
  warnings: string[];
  /** Every flag given, by its row's name, as read (for rows whose work lives elsewhere). */
  values: Record<string, FlagValue>;
}

/**
 * Parses `molt build` flags (kaniko's names and spellings, including `--flag=true|false` and
 * the camelCase aliases kaniko kept). Unknown flags, bad values and stray arguments are
 * {@link UsageError}s. kaniko's environment variables are read too: `KANIKO_NO_PUSH`,
 * `KANIKO_REGISTRY_MIRROR`, `KANIKO_REGISTRY_MAP`, `KANIKO_DIR`.
 */
export function parseBuildFlags(
  argv: string[],
  cwd: string,
  env: NodeJS.ProcessEnv = process.env,
): BuildFlags {
  const occurrences = tokenize(argv, BUILD_FLAG_ROWS, BUILD_USAGE);
  const warnings: string[] = [];
  const target: FlagTarget = {
    options: { context: cwd, destinations: [] },
    cli: { verbosity: "info", help: false },
    warn: (m) => warnings.push(m),
    env,
    cwd,
  };
  const byName = new Map(BUILD_FLAG_ROWS.map((r) => [r.name, r]));
  const values = collect(occurrences);
  // kaniko's environment variables, applied first so that flags win.
  const fromEnv: [string, FlagValue][] = [];
  if (env.KANIKO_DIR) fromEnv.push(["kaniko-dir", env.KANIKO_DIR]);
  if (env.KANIKO_NO_PUSH && /^(true|1)$/i.test(env.KANIKO_NO_PUSH)) fromEnv.push(["no-push", true]);
  if (env.KANIKO_REGISTRY_MIRROR) fromEnv.push(["registry-mirror", [env.KANIKO_REGISTRY_MIRROR]]);
  if (env.KANIKO_REGISTRY_MAP) fromEnv.push(["registry-map", [env.KANIKO_REGISTRY_MAP]]);
  for (const [name, v] of fromEnv) {
    const row = byName.get(name)!;
    if (values.has(row)) continue;
    row.apply?.(v, target);
  }
  for (const o of occurrences) {
    if (o.spelled !== `--${o.row.name}` && o.spelled !== `-${o.row.short}`)
      warnings.push(`flag ${o.spelled} is deprecated; use --${o.row.name}`);
  }
  const recorded: Record<string, FlagValue> = {};
  for (const [row, v] of values) {
    recorded[row.name] = v;
    if (row.ignored) {
      warnings.push(`--${row.name} has no effect in molt: ${row.ignored}`);
    } else if (row.apply) {
      row.apply(v, target);
    } else if (!row.noop && v !== false) {
      warnings.push(`--${row.name} is accepted but not implemented yet in this build; it is ignored`);
    }
  }
  finishCacheFlags(target);
  finishRegistryMirrors(target);
  const { options, cli } = target;
  if (
    !options.noPush &&
    options.destinations!.length === 0 &&
    !options.ociLayoutPath &&
    !options.tarPath &&
    !cli.help &&
    values.get(byName.get("dryrun")!) !== true
  ) {
    throw usage("no destination: give -d/--destination, --oci-layout-path, or --no-push");
  }
  return { options, verbosity: cli.verbosity, help: cli.help, cli, warnings, values: recorded };
}

/** `molt build --help` from the rows: usage, then one section per group. */
function helpText(rows: readonly FlagRow[]): string {
  const lines = [BUILD_USAGE, ""];
  for (const group of FLAG_GROUPS) {
    const inGroup = rows.filter((r) => r.group === group && !r.hidden);
    if (inGroup.length === 0) continue;
    lines.push(`${group}:`);
    for (const r of inGroup) {
      const names = [r.short ? `-${r.short}, ` : "    ", `--${r.name}`, r.arg ? ` ${r.arg}` : ""].join("");
      const text = r.ignored ? `no effect: ${r.ignored}` : (r.help ?? "");
      lines.push(
        `  ${names.padEnd(40)} ${text}${r.multiple && !/repeatable/.test(text) ? "; repeatable" : ""}`,
      );
    }
  }
  return lines.join("\n");
}
