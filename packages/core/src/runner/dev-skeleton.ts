import { chmodSync, mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { DEVICES } from "./mount-plan.js";
import type { TransientFile } from "./types.js";

/**
 * Prepares, under the run's temp dir, the `/dev` the command gets (bound onto the root's `/dev`
 * inside the namespace, so nothing lands in the root): empty files the host's device nodes are
 * bound onto, `pts` and `shm` mount points, the `fd`, `stdin`, `stdout`, `stderr` and `ptmx`
 * links, and `pipes/` holding the transient files. Returns its path.
 */
export function makeDevDir(tmp: string, transient: readonly TransientFile[]): string {
  const dev = join(tmp, "dev");
  mkdirSync(dev);
  chmodSync(dev, 0o755);

  for (const d of DEVICES) writeFileSync(join(dev, d), "", { mode: 0o666 });
  mkdirSync(join(dev, "pts"));
  mkdirSync(join(dev, "shm"));
  chmodSync(join(dev, "shm"), 0o1777);
  symlinkSync("/proc/self/fd", join(dev, "fd"));
  symlinkSync("/proc/self/fd/0", join(dev, "stdin"));
  symlinkSync("/proc/self/fd/1", join(dev, "stdout"));
  symlinkSync("/proc/self/fd/2", join(dev, "stderr"));
  symlinkSync("pts/ptmx", join(dev, "ptmx"));

  if (transient.length > 0) {
    const pipes = join(dev, "pipes");
    mkdirSync(pipes);
    chmodSync(pipes, 0o755);
    for (const f of transient) {
      const p = join(pipes, f.path.slice("/dev/pipes/".length));
      writeFileSync(p, f.content, { mode: f.mode });
      chmodSync(p, f.mode);
    }
  }
  return dev;
}
