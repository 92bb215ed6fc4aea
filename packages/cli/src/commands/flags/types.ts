import type { BuildOptions } from "@molt/core";

/** The value a flag was given: a string (or the list of them for a repeatable flag) or a boolean. */
export type FlagValue = string | string[] | boolean;

/** What a flag row writes into while the command line is read. */
export interface FlagTarget {
  /** The build options being filled in. */
  options: Omit<BuildOptions, "signal" | "onProgress">;
  /** CLI-side settings (logging, progress, dry runs) that are no `build()` option. */
  cli: CliSettings;
  /** Adds a warning the CLI prints once before the build (never a credential or value). */
  warn(message: string): void;
  /** The environment (for flags that read one, like a bare `--build-arg K`). */
  env: NodeJS.ProcessEnv;
  /** The working directory. */
  cwd: string;
}

/** Settings of the CLI itself, set by flags, that `build()` does not take. */
export interface CliSettings {
  /** `-v/--verbosity`: trace, debug, info (default), warn, error, fatal, panic. */
  verbosity: string;
  /** `--log-format`: text, color, json (kaniko's; rendering is the progress renderers'). */
  logFormat?: string;
  /** `--log-timestamp`. */
  logTimestamp?: boolean;
  /** `--progress` (BuildKit's name): auto, plain, tty, json. */
  progress?: string;
  /** `--dryrun`: plan, print, build nothing. */
  dryRun?: boolean;
  /** `--cache`: use a registry cache (repository resolved after all flags are read). */
  cache?: boolean;
  /** `--cache-repo` as given. */
  cacheRepo?: string;
  /** `--cache-dir` as given (resolved): the first cache store. */
  cacheDir?: string;
  /** `--cache-max-bytes`: the size limit of the `--cache-dir` store. */
  cacheMaxBytes?: number;
  /** `--cache-snapshots`: keep extracted roots in the `--cache-dir` store (default true). */
  cacheSnapshots?: boolean;
  /** `--cache-snapshot-max-bytes`: the size bound of those snapshots. */
  cacheSnapshotMaxBytes?: number;
  /** `--registry-mirror`s, in order (they become `registries["docker.io"].mirrors`). */
  registryMirrors?: string[];
  /** `--registry-map`s by source host, in order (they become `registries[FROM].mirrors`). */
  registryMaps?: Record<string, string[]>;
  /** `--skip-default-registry-fallback` (becomes `mirrorFallback: false` on mapped hosts). */
  skipDefaultRegistryFallback?: boolean;
  /** `--explain-cache`: print hits as well as misses. */
  explainCache?: boolean;
  /** `-h/--help`. */
  help: boolean;
}

/**
 * One row of the flag table: a kaniko (or molt) flag, how it is read, and what it does.
 * Engineers add rows to the files in this folder; `build-flags.ts` assembles them.
 */
export interface FlagRow {
  /** The long name without dashes, as kaniko spells it (`snapshot-mode`). */
  name: string;
  /** One-letter short form (`c` for `-c`). */
  short?: string;
  /** Other names kaniko kept (`snapshotMode`, `tarPath`), read exactly like `name`. */
  aliases?: readonly string[];
  /** `string` takes a value; `boolean` takes none, or `=true`/`=false` as kaniko's pflag allows. */
  type: "string" | "boolean";
  /** The flag may be repeated; the value is then the list in order. */
  multiple?: boolean;
  /** Section of `molt build --help`. */
  group: FlagGroup;
  /** Placeholder of the value in help (`DIR`, `K=V`). */
  arg?: string;
  /** One line of help: what molt does with it (rows with `ignored` show that instead). */
  help?: string;
  /** Sets options from the value. Rows with neither `apply`, `ignored` nor `noop` record the value and warn that it is not implemented yet. */
  apply?: (value: FlagValue, target: FlagTarget) => void;
  /** The flag has no meaning in molt: this says why, in the one warning printed when it is used. */
  ignored?: string;
  /** Already molt's behaviour: accepted silently (the help says why). */
  noop?: boolean;
  /** Left out of `--help` (kept for old command lines). */
  hidden?: boolean;
}

/** The sections of `molt build --help`, in order. */
export const FLAG_GROUPS = [
  "context and Dockerfile",
  "outputs",
  "registries",
  "RUN and snapshots",
  "cache",
  "logging",
  "accepted for kaniko compatibility",
] as const;

/** A section of `molt build --help`. */
export type FlagGroup = (typeof FLAG_GROUPS)[number];
