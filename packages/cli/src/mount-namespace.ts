import { spawn, spawnSync } from "node:child_process";
import { constants, tmpdir } from "node:os";
import { reclaimStaleTempDirs } from "@molt/oci";
import createDebug from "debug";

const debug = createDebug("molt:cli");

/** Set in the re-executed build: its private mount namespace is held; the value is the wrapper's pid. */
export const HELD_ENV = "MOLT_MOUNT_NAMESPACE_HELD_BY";

/** {@link HELD_ENV}'s value when bin/molt exec'ed the build through `unshare` (one process, no wrapper). */
export const HELD_BY_EXEC = "exec";

/**
 * As root, `molt build` runs in a private mount namespace of its own, so the kernel removes every
 * mount it makes (the overlay of each RUN step) when it dies, even by SIGKILL: this process
 * re-executes itself through `unshare --mount --propagation private` and `setpriv
 * --pdeathsig=KILL` (the build dies with this process), forwards signals and returns its exit
 * code. Returns `undefined` — run in this process — when not root, already inside, turned off
 * with `MOLT_MOUNT_NAMESPACE=0`, or where the namespace cannot be made (a container without
 * CAP_SYS_ADMIN: molt then mounts nothing either).
 */
export async function runInPrivateMountNamespace(argv: string[]): Promise<number | undefined> {
  const held = process.env[HELD_ENV];
  if (held !== undefined) {
    // bin/molt exec'ed this process into its own namespace: no wrapper to outlive.
    if (held === HELD_BY_EXEC) return undefined;
    // The wrapper could have died before setpriv armed the death signal: then stop now.
    if (String(process.ppid) !== held) process.exit(137);
    return undefined;
  }
  if (argv[0] !== "build" || process.getuid?.() !== 0 || process.env.MOLT_MOUNT_NAMESPACE === "0")
    return undefined;
  const probe = spawnSync(
    "unshare",
    ["--mount", "--propagation", "private", "setpriv", "--pdeathsig", "KILL", "true"],
    {
      stdio: "ignore",
    },
  );
  if (probe.status !== 0) {
    debug(
      "no private mount namespace (unshare/setpriv: %s): mounts are made in this one",
      probe.error?.message ?? `exit ${probe.status}`,
    );
    return undefined;
  }
  // Stale dirs of killed builds may hold mounts of this (the host's) namespace, which the build
  // cannot detach from inside its own: reclaim them here first.
  reclaimStaleTempDirs(tmpdir());
  const script = process.argv[1]!;
  // With a terminal on stdin the child stays in our process group (it may read the terminal), so
  // the terminal's SIGINT reaches it directly and is not forwarded a second time.
  const detached = !process.stdin.isTTY;
  const child = spawn(
    "unshare",
    [
      "--mount",
      "--propagation",
      "private",
      "--",
      "setpriv",
      "--pdeathsig",
      "KILL",
      "--",
      process.execPath,
      ...process.execArgv,
      script,
      ...argv,
    ],
    { stdio: "inherit", detached, env: { ...process.env, [HELD_ENV]: String(process.pid) } },
  );
  for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.on(sig, () => {
      if (sig === "SIGINT" && !detached) return;
      child.kill(sig);
    });
  }
  return new Promise((resolve) => {
    child.once("error", (e) => {
      debug("cannot start the build in a private mount namespace: %s", e.message);
      resolve(undefined);
    });
    child.once("exit", (code, signal) =>
      resolve(code ?? 128 + (signal ? (constants.signals[signal] ?? 0) : 0)),
    );
  });
}
