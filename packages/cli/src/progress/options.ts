import { UsageError } from "../io.js";
import { LEVELS, type Level } from "./levels.js";
import type { DisplayOptions } from "./renderer.js";

/** What `--progress` (or kaniko's `--log-format`) chose. */
export type ProgressMode = "auto" | "plain" | "tty" | "json";

/** The display settings of one `molt build`. */
export interface ProgressSettings extends DisplayOptions {
  mode: ProgressMode;
}

/**
 * Reads `--progress=auto|plain|tty|json`, kaniko's `--log-format=text|color|json` (text → plain,
 * color → plain with colours, json → json; `--progress` wins when both are given),
 * `--log-timestamp` and `-v/--verbosity panic|fatal|error|warn|info|debug|trace`. An unknown
 * value is a {@link UsageError}.
 */
export function progressSettings(
  flags: { progress?: string; logFormat?: string; logTimestamp?: boolean; verbosity?: string },
  usage: string,
): ProgressSettings {
  const level = (flags.verbosity ?? "info") as Level;
  if (!(LEVELS as readonly string[]).includes(level)) {
    throw new UsageError(
      `-v/--verbosity must be one of ${LEVELS.join(", ")}; got "${flags.verbosity}"`,
      usage,
    );
  }
  let mode: ProgressMode = "auto";
  let color = false;
  if (flags.logFormat !== undefined) {
    if (flags.logFormat === "text") mode = "plain";
    else if (flags.logFormat === "color") {
      mode = "plain";
      color = true;
    } else if (flags.logFormat === "json") mode = "json";
    else
      throw new UsageError(`--log-format must be one of text, color, json; got "${flags.logFormat}"`, usage);
  }
  if (flags.progress !== undefined) {
    if (!["auto", "plain", "tty", "json"].includes(flags.progress)) {
      throw new UsageError(
        `--progress must be one of auto, plain, tty, json; got "${flags.progress}"`,
        usage,
      );
    }
    mode = flags.progress as ProgressMode;
  }
  return { mode, level, color, timestamps: flags.logTimestamp ?? false };
}
