// Small helpers shared by the benchmarks: timing, running a reference command, reporting.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from "node:fs";
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

/** The `/sys/class/block/NAME/stat` file of the block device holding `dir`, or undefined. */
function blockStatFile(dir) {
  const r = spawnSync("findmnt", ["-no", "SOURCE", "-T", dir], { encoding: "utf8" });
  const dev = r.status === 0 ? r.stdout.trim().split("\n")[0] : "";
  if (!dev.startsWith("/dev/")) return undefined;
  const f = `/sys/class/block/${dev.slice(5)}/stat`;
  return existsSync(f) ? f : undefined;
}

/**
 * How long ext4 keeps a deleted inode from being reused when the filesystem has no journal
 * (`recently_deleted()` in fs/ext4/ialloc.c: 30 s, 35 s while its inode-table block is dirty, in
 * the kernels this was read for; newer ones may use a longer window (60 s, +300 s dirty) — not
 * verified on this 6.18 kernel; a registry-only warm build was still slower than its cold).
 * Until then every file create in that block group scans past each such inode: on these VMs
 * (ext4 without a journal) GNU tar's 20,000 creates right after a 20,000-file delete spent
 * ~1 ms of kernel CPU each (openat 955 us, sys 18 s of a 20 s wall) instead of ~20 us.
 */
export const EXT4_RECENTLY_DELETED_MS = 36_000;

/**
 * `sync`, then waits (at most `maxMs`) until the disk holding `dir` has had no discard request
 * complete and no request in flight for `quietMs`, and until `EXT4_RECENTLY_DELETED_MS` have
 * passed since `deletedAt` (when this process, or a build it timed, last deleted a large tree:
 * see EXT4_RECENTLY_DELETED_MS). Other processes' deletions count too, so the wait is bounded.
 * Returns the milliseconds waited.
 */
export function settleDisk(dir, { quietMs = 1000, maxMs = 20_000, deletedAt } = {}) {
  const t0 = Date.now();
  if (deletedAt !== undefined) {
    const left = deletedAt + EXT4_RECENTLY_DELETED_MS - Date.now();
    if (left > 0) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, left);
  }
  const t1 = Date.now();
  spawnSync("sync");
  const file = blockStatFile(dir);
  if (!file) return Date.now() - t0;
  // fields (1-based): 9 = requests in flight, 12 = discards completed
  const read = () => {
    const f = readFileSync(file, "utf8").trim().split(/\s+/).map(Number);
    return { inflight: f[8], discards: f[11] ?? 0 };
  };
  let last = read();
  let quietSince = Date.now();
  while (Date.now() - t1 < maxMs) {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100);
    const now = read();
    if (now.discards !== last.discards || now.inflight > 0) quietSince = Date.now();
    last = now;
    if (Date.now() - quietSince >= quietMs) break;
  }
  return Date.now() - t0;
}
