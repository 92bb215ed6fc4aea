// Small helpers shared by the benchmarks: timing, running a reference command, reporting.
import { spawnSync } from "node:child_process";

/** MOLT_BENCH_SCALE as a number (default 1). */
export const SCALE = Number(process.env.MOLT_BENCH_SCALE ?? "1") || 1;

/** Times an async function; returns seconds. */
export async function time(fn) {
  const t0 = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

/** Times a shell command (bash -c); throws when it fails. Returns seconds. */
export function timeShell(cmd, opts = {}) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync("bash", ["-o", "pipefail", "-c", cmd], {
    stdio: ["ignore", "ignore", "pipe"],
    ...opts,
  });
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 0) throw new Error(`reference command failed (${r.status}): ${cmd}\n${r.stderr}`);
  return s;
}

/** Best (minimum) of `n` timings of `fn`. */
export async function best(n, fn) {
  let min = Number.POSITIVE_INFINITY;
  for (let i = 0; i < n; i++) min = Math.min(min, await fn());
  return min;
}

/** Prints one result line: ours, the reference, their ratio and the target. */
export function report(name, ours, refName, ref, target) {
  const ratio = ours / ref;
  const ok = target === undefined ? "" : ratio <= target ? "  OK" : "  MISSED";
  console.log(
    `${name}: molt ${ours.toFixed(3)}s  ${refName} ${ref.toFixed(3)}s  ratio ${ratio.toFixed(2)}${target !== undefined ? ` (target <= ${target})` : ""}${ok}`,
  );
}
