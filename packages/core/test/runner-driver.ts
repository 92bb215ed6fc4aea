/**
 * The opening of a driver script that a test runs in another environment (a podman container,
 * an unprivileged user): it selects the runner from the built package at `dist`, and defines
 * `go(cmd, extra)`, which runs one shell command and records `{ exitCode, out }` or
 * `{ error, message, out }` in `results.runs`. The caller appends its `go(...)` calls and a
 * final `console.log(JSON.stringify(results))`.
 */
export function driverPrelude(dist: string): string {
  return `
import { selectRunner, resolveUser, runEnvironment } from ${JSON.stringify(dist)};
const [rootfs] = process.argv.slice(2);
const runner = await selectRunner("auto");
const results = { name: runner.name, mode: runner.mode, limitations: runner.limitations, idMap: runner.idMap, runs: [] };
async function go(cmd, extra = {}) {
  const user = await resolveUser(rootfs, extra.userSpec);
  const out = [];
  try {
    const o = await runner.run({ rootfs, argv: ["/bin/sh", "-c", cmd], env: runEnvironment(["PATH=/bin"], new Map(), user),
      cwd: extra.cwd ?? "/", user, network: extra.network, mounts: extra.mounts, signal: extra.signal, onOutput: (s, l) => { out.push(l); extra.onLine?.(l); } });
    results.runs.push({ exitCode: o.exitCode, out });
  } catch (e) {
    results.runs.push({ error: e.code, message: e.message, out });
  }
}
`;
}
