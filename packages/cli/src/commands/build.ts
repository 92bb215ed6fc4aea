import { type BuildProgressEvent, build, dryRun } from "@molt/core";
import type { CommandIO } from "../io.js";
import { BUILD_HELP, parseBuildFlags } from "./build-flags.js";

/**
 * `molt build`: builds the image and prints progress lines (`STEP`, `LAYER`, `PUSHED`) to
 * stderr and nothing but the image digest to stdout. Returns the process exit code.
 */
export async function buildCommand(argv: string[], io: CommandIO, signal?: AbortSignal): Promise<number> {
  const flags = parseBuildFlags(argv, io.cwd);
  if (flags.help) {
    io.stdout.write(`${BUILD_HELP}\n`);
    return 0;
  }
  for (const w of flags.warnings) io.stderr.write(`WARNING ${w}\n`);
  const quiet = flags.verbosity === "error" || flags.verbosity === "panic" || flags.verbosity === "fatal";
  const onProgress = (e: BuildProgressEvent) => {
    if (quiet && e.type !== "warning") return;
    if (e.type === "cache" && e.hit && !flags.cli.explainCache) return;
    const line = renderEvent(e);
    if (line) io.stderr.write(`${line}\n`);
  };
  const sourceDateEpoch = process.env.SOURCE_DATE_EPOCH;
  const options = {
    ...flags.options,
    ...(sourceDateEpoch && /^\d+$/.test(sourceDateEpoch) && flags.options.sourceDateEpoch === undefined
      ? { sourceDateEpoch: Number(sourceDateEpoch) }
      : {}),
    onProgress,
    ...(signal ? { signal } : {}),
  };
  if (flags.cli.dryRun) {
    const plan = await dryRun(options);
    for (const st of plan.stages) {
      io.stdout.write(`STAGE ${st.index}${st.name ? ` (${st.name})` : ""} FROM ${st.base}\n`);
      for (const s of plan.steps.filter((x) => x.stage === st.index)) {
        const verdict = !s.cacheable ? "runs (metadata)" : s.cached ? "would hit" : `would run: ${s.reason}`;
        io.stdout.write(`  ${s.step} ${s.instruction}\n    key ${s.key ?? "-"}  ${verdict}\n`);
      }
    }
    return 0;
  }
  const result = await build(options);
  io.stdout.write(`${result.digest}\n`);
  return 0;
}

/** One human-readable line per progress event. */
export function renderEvent(e: BuildProgressEvent): string | undefined {
  switch (e.type) {
    case "stage":
      return `STAGE ${e.stage}${e.name ? ` (${e.name})` : ""} FROM ${e.base}`;
    case "step":
      return `STEP ${e.step}/${e.of}: ${e.instruction}`;
    case "runner":
      return `RUNNER ${e.name}${e.limitations.length > 0 ? ` (cannot provide: ${e.limitations.join("; ")})` : ""}`;
    case "base-image":
      return `BASE ${e.reference} ${e.digest}`;
    case "layer":
      return `LAYER ${e.digest} ${e.size} bytes, ${e.entries} entries`;
    case "output":
      return e.kind === "push" ? `PUSHED ${e.target}@${e.digest}` : `WROTE ${e.kind} ${e.target}`;
    case "log":
      return `  ${e.line}`;
    case "cache":
      return e.hit
        ? `CACHED ${e.stage}/${e.step} ${e.key.slice(7, 19)}`
        : `CACHE MISS ${e.stage}/${e.step}: ${e.reason ?? "no entry in cache"}`;
    case "warning":
      return `WARNING ${e.file ? `${e.file}${e.line ? `:${e.line}` : ""}: ` : ""}${e.message}`;
  }
}
