import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type RunResult, run } from "./exec.js";
import { requireBinary } from "./registry.js";

/**
 * Podman set up the way it works on these machines (see shared/notes/machine.md): vfs storage
 * in temporary directories, cgroupfs, runc, a containers.conf without default ulimits.
 */
export interface Podman {
  /** Runs `podman <args>` with the private storage and config. */
  podman(args: string[], opts?: { allowFail?: boolean; input?: Buffer | string }): Promise<RunResult>;
  /** The global flags every call gets (storage, runtime) and the environment, for callers that spawn podman themselves. */
  readonly base: readonly string[];
  readonly env: NodeJS.ProcessEnv;
  /** `podman run --rm` of `image` with `cmd`, pulling over plain HTTP. */
  runImage(image: string, cmd?: string[]): Promise<RunResult>;
  cleanup(): Promise<void>;
}

/** Creates a private podman environment (storage, run root, config) under a temp directory. */
export async function createPodman(): Promise<Podman> {
  requireBinary("podman", "Debian package podman");
  requireBinary("runc", "Debian package runc");
  const dir = await mkdtemp(join(tmpdir(), "molt-podman-"));
  const conf = join(dir, "containers.conf");
  await writeFile(conf, "[containers]\ndefault_ulimits = []\n");
  const env = { ...process.env, CONTAINERS_CONF: conf };
  const base = [
    "--storage-driver",
    "vfs",
    "--root",
    join(dir, "root"),
    "--runroot",
    join(dir, "runroot"),
    // Its own libpod state dir too: the default (/run/libpod) is shared by every podman on the
    // machine, and `system reset` in one test's cleanup removes it under another's running container.
    "--tmpdir",
    join(dir, "tmp"),
    "--cgroup-manager",
    "cgroupfs",
    "--runtime",
    "runc",
  ];
  const podman = (args: string[], opts: { allowFail?: boolean; input?: Buffer | string } = {}) =>
    run("podman", [...base, ...args], {
      env,
      ...(opts.allowFail ? { allowFail: true } : {}),
      ...(opts.input !== undefined ? { input: opts.input } : {}),
    });
  return {
    podman,
    base,
    env,
    runImage: (image, cmd = []) =>
      retryOnce(() =>
        podman([
          "run",
          "--rm",
          "--network",
          "none",
          "--ulimit",
          "nofile=1024:1024",
          "--ulimit",
          "nproc=1024:1024",
          "--tls-verify=false",
          image,
          ...cmd,
        ]),
      ),
    async cleanup() {
      await run("podman", [...base, "system", "reset", "--force"], { env, allowFail: true });
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Runs `fn`, and once more if it throws: podman on these VMs very rarely fails to start a
 * container for reasons outside the image (seen once in many runs, not reproducible). The first
 * failure is printed, so it is never hidden; a real problem fails twice.
 */
async function retryOnce<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    process.stderr.write(`podman failed once, retrying: ${(e as Error).message}\n`);
    return fn();
  }
}
