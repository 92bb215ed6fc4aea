// Small helpers shared by the benchmarks: timing, running a reference command, reporting.
import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, openSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";

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

/** A free TCP port on 127.0.0.1. */
export function freePort() {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/**
 * Starts Debian's `docker-registry` on a free loopback port with its storage under `dir`, and
 * waits for `GET /v2/`. Returns its `host` and a `stop()`.
 */
export async function startRegistry(dir, opts = {}) {
  const port = await freePort();
  mkdirSync(dir, { recursive: true });
  const config = join(dir, "config.yml");
  writeFileSync(
    config,
    `version: 0.1\nlog: {level: error, accesslog: {disabled: ${opts.accessLog ? "false" : "true"}}}\nstorage: {filesystem: {rootdirectory: ${join(dir, "data")}}, delete: {enabled: true}}\nhttp: {addr: 127.0.0.1:${port}}\n`,
  );
  // With opts.accessLog, the registry's access log (one line per request, with the bytes sent)
  // goes to `${dir}/access.log`.
  const out = opts.accessLog ? openSync(join(dir, "access.log"), "a") : "ignore";
  const child = spawn("docker-registry", ["serve", config], { stdio: ["ignore", out, out] });
  const host = `127.0.0.1:${port}`;
  for (let i = 0; i < 150; i++) {
    const ok = await fetch(`http://${host}/v2/`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return { host, stop: () => child.kill("SIGTERM") };
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill("SIGKILL");
  throw new Error("docker-registry did not start");
}
