import { chmod, mkdir, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { DEVICES } from "./mount-plan.js";
import type { TransientFile } from "./types.js";

/**
 * Prepares, under the run's temp dir, the `/dev` the command gets (bound onto the root's `/dev`
 * inside the namespace, so nothing lands in the root): empty files the host's device nodes are
 * bound onto, `pts` and `shm` mount points, the `fd`, `stdin`, `stdout`, `stderr` and `ptmx`
 * links, and `pipes/` holding the transient files. Returns its path.
 */
export async function makeDevDir(tmp: string, transient: readonly TransientFile[]): Promise<string> {
  const dev = join(tmp, "dev");
  await mkdir(dev);
  await chmod(dev, 0o755);
  await Promise.all([
    ...DEVICES.map((d) => writeFile(join(dev, d), "", { mode: 0o666 })),
    mkdir(join(dev, "pts")),
    mkdir(join(dev, "shm")).then(() => chmod(join(dev, "shm"), 0o1777)),
    symlink("/proc/self/fd", join(dev, "fd")),
    symlink("/proc/self/fd/0", join(dev, "stdin")),
    symlink("/proc/self/fd/1", join(dev, "stdout")),
    symlink("/proc/self/fd/2", join(dev, "stderr")),
    symlink("pts/ptmx", join(dev, "ptmx")),
  ]);
  if (transient.length > 0) {
    const pipes = join(dev, "pipes");
    await mkdir(pipes);
    await chmod(pipes, 0o755);
    for (const f of transient) {
      const p = join(pipes, f.path.slice("/dev/pipes/".length));
      await writeFile(p, f.content, { mode: f.mode });
      await chmod(p, f.mode);
    }
  }
  return dev;
}
