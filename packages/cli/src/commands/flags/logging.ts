import type { FlagRow } from "./types.js";
import { bool, oneOf, str } from "./values.js";

const group = "logging" as const;

/** Flags for what the CLI prints. */
export const LOGGING_FLAGS: FlagRow[] = [
  {
    name: "verbosity",
    short: "v",
    type: "string",
    group,
    arg: "LEVEL",
    help: "trace, debug, info (default), warn, error, fatal, panic: what progress shows (debug and trace add the molt:* debug namespaces)",
    apply: (v, t) => {
      t.cli.verbosity = oneOf(str(v), "verbosity", [
        "trace",
        "debug",
        "info",
        "warn",
        "warning",
        "error",
        "fatal",
        "panic",
      ] as const);
    },
  },
  {
    name: "log-format",
    type: "string",
    group,
    arg: "text|color|json",
    help: "kaniko's progress format: text (= --progress plain), color (plain in colour), json (= --progress json)",
    apply: (v, t) => {
      t.cli.logFormat = oneOf(str(v), "log-format", ["text", "color", "json"] as const);
    },
  },
  {
    name: "log-timestamp",
    type: "boolean",
    group,
    help: "prefix plain progress lines with the time",
    apply: (v, t) => {
      t.cli.logTimestamp = bool(v);
    },
  },
  {
    name: "progress",
    type: "string",
    group,
    arg: "auto|plain|tty|json",
    help: "BuildKit's progress display: auto (tty on a terminal, else plain), plain, tty (live view), json (one event per line)",
    apply: (v, t) => {
      t.cli.progress = oneOf(str(v), "progress", ["auto", "plain", "tty", "json"] as const);
    },
  },
  {
    name: "help",
    short: "h",
    type: "boolean",
    group,
    help: "show this text",
    apply: (v, t) => {
      t.cli.help = bool(v);
    },
  },
];
