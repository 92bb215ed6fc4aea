import { build, dryRun } from "@molt/core";
import createDebug from "debug";
import { type CommandIO, ReportedError } from "../io.js";
import { createRenderer, progressSettings } from "../progress/index.js";
import { atLeast } from "../progress/levels.js";
import { BUILD_HELP, BUILD_USAGE, parseBuildFlags } from "./build-flags.js";

/**
 * `molt build`: builds the image, draws its progress on stderr (`--progress`: BuildKit's plain
 * lines, the live tty view, or JSON lines) and prints nothing but the image digest to stdout.
 * Returns the process exit code.
 */
export async function buildCommand(argv: string[], io: CommandIO, signal?: AbortSignal): Promise<number> {
  const flags = parseBuildFlags(argv, io.cwd);
  if (flags.help) {
    io.stdout.write(`${BUILD_HELP}\n`);
    return 0;
  }
  for (const w of flags.warnings) io.stderr.write(`WARNING ${w}\n`);
  const display = progressSettings(
    {
      verbosity: flags.cli.verbosity === "warning" ? "warn" : flags.cli.verbosity,
      ...(flags.cli.progress !== undefined ? { progress: flags.cli.progress } : {}),
      ...(flags.cli.logFormat !== undefined ? { logFormat: flags.cli.logFormat } : {}),
      ...(flags.cli.logTimestamp ? { logTimestamp: true } : {}),
    },
    BUILD_USAGE,
  );
  if (flags.cli.explainCache) display.explainCache = true;
  // debug and trace add molt's debug namespaces (written to stderr by `debug`).
  if (atLeast(display.level, "debug")) createDebug.enable(mergeNamespaces(process.env.DEBUG, "molt:*"));
  const renderer = createRenderer(
    display,
    io.stderr as NodeJS.WritableStream & { columns?: number; isTTY?: boolean },
    process.env.MOLT_DISPLAY_CPU_FILE,
  );
  const sourceDateEpoch = process.env.SOURCE_DATE_EPOCH;
  const options = {
    ...flags.options,
    ...(sourceDateEpoch && /^\d+$/.test(sourceDateEpoch) && flags.options.sourceDateEpoch === undefined
      ? { sourceDateEpoch: Number(sourceDateEpoch) }
      : {}),
    onProgress: renderer.event.bind(renderer),
    ...(signal ? { signal } : {}),
  };
  try {
    if (flags.cli.dryRun) {
      const plan = await dryRun(options);
      renderer.end({});
      for (const st of plan.stages) {
        io.stdout.write(`STAGE ${st.index}${st.name ? ` (${st.name})` : ""} FROM ${st.base}\n`);
        for (const s of plan.steps.filter((x) => x.stage === st.index)) {
          const verdict = !s.cacheable
            ? "runs (metadata)"
            : s.cached
              ? "would hit"
              : `would run: ${s.reason}`;
          io.stdout.write(`  ${s.step} ${s.instruction}\n    key ${s.key ?? "-"}  ${verdict}\n`);
        }
      }
      return 0;
    }
    const result = await build(options);
    renderer.end({});
    io.stdout.write(`${result.digest}\n`);
    return 0;
  } catch (e) {
    renderer.end({ error: e });
    // JSON output ends with the error as its last line; nothing else may follow on stderr.
    if (display.mode === "json") throw new ReportedError(e);
    throw e;
  }
}

function mergeNamespaces(existing: string | undefined, add: string): string {
  return existing ? `${existing},${add}` : add;
}
