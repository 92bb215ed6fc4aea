import { detectHost } from "./detect.js";
import { InPlaceRefusedError, RunnerUnavailableError } from "./errors.js";
import { ChrootRunner, InPlaceRunner, RootlessRunner } from "./runners.js";
import type { Runner } from "./types.js";

/** Which runner to use; `auto` picks chroot as root, else rootless, and never in-place. */
export type RunnerPreference = "auto" | "chroot" | "rootless" | "in-place";

/**
 * Detects what this host allows (root? chroot? mounts and namespaces? user namespaces?) and
 * returns the runner to use; its `limitations` say what it could not provide here.
 * `auto`: chroot when root with chroot permitted, else rootless when user namespaces work, else
 * {@link RunnerUnavailableError} listing why. `in-place` requires `allowInPlace`.
 *
 * @example
 * ```ts
 * const runner = await selectRunner("auto");
 * for (const l of runner.limitations) console.warn(`${runner.name}: ${l}`);
 * const { exitCode } = await runner.run({ rootfs, argv: ["/bin/sh", "-c", "echo hi"], env, cwd: "/", user });
 * ```
 */
export async function selectRunner(
  preference: RunnerPreference = "auto",
  options: { allowInPlace?: boolean } = {},
): Promise<Runner> {
  if (preference === "in-place") {
    if (!options.allowInPlace) throw new InPlaceRefusedError();
    return new InPlaceRunner(await detectHost({ userNamespaces: false }));
  }
  const caps = await detectHost(preference === "rootless" ? { userNamespaces: true } : {});
  const chrootOk = caps.euid === 0 && caps.chroot && !!caps.tools.setpriv;
  const rootlessOk = caps.userNamespaces && !!caps.tools.mount;
  if (preference === "chroot") {
    if (!chrootOk)
      throw new RunnerUnavailableError("the chroot runner needs root with CAP_SYS_CHROOT", caps.notes);
    return new ChrootRunner(caps);
  }
  if (preference === "rootless") {
    if (!rootlessOk)
      throw new RunnerUnavailableError("the rootless runner needs user namespaces", caps.notes);
    return new RootlessRunner(caps);
  }
  if (chrootOk) return new ChrootRunner(caps);
  if (rootlessOk) return new RootlessRunner(caps);
  throw new RunnerUnavailableError("no runner can execute RUN on this host", caps.notes);
}
