/** kaniko's `-v/--verbosity` levels, most quiet first. */
export const LEVELS = ["panic", "fatal", "error", "warn", "info", "debug", "trace"] as const;

/** One of {@link LEVELS}. */
export type Level = (typeof LEVELS)[number];

/** True when `level` shows what `at` shows (e.g. `atLeast("debug", "info")`). */
export function atLeast(level: Level, at: Level): boolean {
  return LEVELS.indexOf(level) >= LEVELS.indexOf(at);
}
