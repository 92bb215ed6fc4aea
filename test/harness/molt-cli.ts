import { join } from "node:path";
import { type RunResult, run } from "./exec.js";

/** The built CLI entry point (`pnpm build` first; `pnpm test` does). */
export const MOLT_BIN = join(import.meta.dirname, "..", "..", "packages", "cli", "dist", "bin.js");

/** Runs the built `molt` CLI; never throws on a non-zero exit. */
export function molt(
  args: string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string | Buffer } = {},
): Promise<RunResult> {
  return run(process.execPath, [MOLT_BIN, ...args], { ...opts, allowFail: true });
}
