import { join } from "node:path";
import { type RunResult, run } from "./exec.js";

/** The built CLI as installed: the bundle `pnpm build` makes (packages/cli/scripts/bundle.mjs; `pnpm test` builds it). */
export const MOLT_BIN = join(import.meta.dirname, "..", "..", "packages", "cli", "dist", "bundle", "bin.js");

/** The package's `bin` (packages/cli/bin/molt, a shell script that runs {@link MOLT_BIN} with node). */
export const MOLT_LAUNCHER = join(import.meta.dirname, "..", "..", "packages", "cli", "bin", "molt");

/** Runs the built `molt` CLI; never throws on a non-zero exit. */
export function molt(
  args: string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string | Buffer } = {},
): Promise<RunResult> {
  return run(process.execPath, [MOLT_BIN, ...args], { ...opts, allowFail: true });
}

/**
 * `molt build -c ctx --no-push --oci-layout-path WORK/layout --insecure-pull ...args`, then — when
 * it succeeded — `umoci unpack` of the result into `WORK/bundle`. Returns the CLI's result and
 * the unpacked rootfs path (judged by umoci, not by our own code).
 */
export async function buildAndUnpack(
  ctx: string,
  work: string,
  args: string[] = [],
  opts: { env?: NodeJS.ProcessEnv } = {},
): Promise<RunResult & { layout: string; rootfs: string }> {
  const layout = join(work, "layout");
  const r = await molt(
    ["build", "-c", ctx, "--no-push", "--oci-layout-path", layout, "--insecure-pull", ...args],
    opts,
  );
  if (r.code === 0) await run("umoci", ["unpack", "--image", `${layout}:latest`, join(work, "bundle")]);
  return { ...r, layout, rootfs: join(work, "bundle", "rootfs") };
}
