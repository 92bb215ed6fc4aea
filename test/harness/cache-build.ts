import { mkdtemp, rm } from "node:fs/promises";
import { join } from "node:path";
import { molt } from "./molt-cli.js";

/** One `molt build --progress json` run, read back step by step (steps named `stage/index`, 0-based). */
export interface CacheBuild {
  code: number;
  stderr: string;
  /** Steps taken from the cache, in the order reported. */
  cached: string[];
  /** Steps that missed, with the reason given. */
  missed: Map<string, string>;
  /** Every step's cache key, hit or miss. */
  keys: Map<string, string>;
  /**
   * Whether each step hit, from its last report: a stage whose cached layer turns out unusable
   * runs again from that step, so the steps from there are reported twice.
   */
  final: Map<string, boolean>;
  /** The `molt:build:warning` messages. */
  warnings: string[];
}

/**
 * Runs the CLI's `build` with `args` (plus `--progress json`) in a fresh process with a fresh
 * temp dir under `scratch` (removed afterwards), as a CI job would, and reads its events.
 */
export async function cacheBuild(
  scratch: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<CacheBuild> {
  const tmp = await mkdtemp(join(scratch, "tmp-"));
  const r = await molt(["build", "--progress", "json", ...args], {
    env: { ...process.env, TMPDIR: tmp, ...env },
  });
  await rm(tmp, { recursive: true, force: true });
  return { code: r.code, stderr: r.stderr, ...readCacheEvents(r.stderr) };
}

/** The step cache events of a `--progress json` stream. */
export function readCacheEvents(stderr: string): Omit<CacheBuild, "code" | "stderr"> {
  const steps = new Map<number, string>();
  const cached: string[] = [];
  const missed = new Map<string, string>();
  const keys = new Map<string, string>();
  const final = new Map<string, boolean>();
  const warnings: string[] = [];
  for (const line of stderr.split("\n")) {
    if (!line.startsWith("{")) continue;
    const e = JSON.parse(line) as {
      type: string;
      step?: number;
      stage?: number;
      index?: number;
      hit?: boolean;
      key?: string;
      reason?: string;
      message?: string;
    };
    if (e.type === "molt:step:start" && e.stage !== undefined && e.index !== undefined)
      steps.set(e.step!, `${e.stage}/${e.index - 1}`);
    if (e.type === "molt:step:cache") {
      const at = steps.get(e.step!)!;
      if (e.key) keys.set(at, e.key);
      if (e.hit) cached.push(at);
      else missed.set(at, e.reason ?? "");
      final.set(at, e.hit === true);
    }
    if (e.type === "molt:build:warning" && e.message) warnings.push(e.message);
  }
  return { cached, missed, keys, final, warnings };
}

/**
 * One reproducible `molt build -c ctx -d host/dest` to a plain-HTTP registry in a fresh process
 * with a fresh temp dir under `scratch` (removed afterwards), with `DEBUG` set to `debug`: the
 * pushed digest and stderr (the debug lines). Throws with stderr when the build fails.
 */
export async function freshBuild(
  scratch: string,
  host: string,
  ctx: string,
  dest: string,
  args: string[],
  debug: string,
  tmpPrefix = "tmp-",
): Promise<{ digest: string; debug: string }> {
  const tmp = await mkdtemp(join(scratch, tmpPrefix));
  const r = await molt(
    ["build", "-c", ctx, "-d", `${host}/${dest}`, "--insecure", "--insecure-pull", "--reproducible", ...args],
    { env: { ...process.env, TMPDIR: tmp, DEBUG: debug } },
  );
  await rm(tmp, { recursive: true, force: true });
  if (r.code !== 0) throw new Error(`molt build failed (${r.code}):\n${r.stderr}`);
  return { digest: r.stdout.trim(), debug: r.stderr };
}
