import { spawn } from "node:child_process";
import { BuildAbortedError } from "../errors.js";
import { MountLockError } from "./errors.js";
import { perlHelper } from "./perl-helper.js";

/** A held file lock; {@link FileLock.release} lets it go (so does this process dying). */
export interface FileLock {
  release(): Promise<void>;
}

const BUSY = 75;

/**
 * Takes an advisory `flock(2)` on `file` for other builds on this machine to see: `shared` or
 * `exclusive`; `wait: false` resolves `undefined` instead of waiting when it is held. The lock
 * is held by this process's lock helper (one perl process for all locks, see `perl-helper.ts`),
 * or where perl is missing (or `via: "flock"`) by a `flock … cat` child per lock. Either way the
 * holder reads a pipe from this process: this process dying, even by SIGKILL, closes it and the
 * lock goes, so a lock never outlives its build.
 */
export async function lockFile(
  file: string,
  mode: "shared" | "exclusive",
  options: { wait?: boolean; signal?: AbortSignal; via?: "helper" | "flock" } = {},
): Promise<FileLock | undefined> {
  const helper = options.via === "flock" || file.includes("\n") ? undefined : await perlHelper();
  if (!helper) return flockChild(file, mode, options);
  if (options.signal?.aborted) throw new BuildAbortedError();
  // (nobody asks for a shared lock without waiting: that one stays with flock(1))
  if (mode === "shared" && options.wait === false) return flockChild(file, mode, options);
  const op = mode === "shared" ? "s" : options.wait === false ? "n" : "x";
  const { reply, release } = await helper.lock(file, op, options.signal);
  if (reply === "ok") return { release };
  if (reply === "busy") return undefined;
  throw new MountLockError(`cannot lock ${file}: ${reply.replace(/^err /, "")}`);
}

/** {@link lockFile} through a `flock … cat` child holding this one lock. */
function flockChild(
  file: string,
  mode: "shared" | "exclusive",
  options: { wait?: boolean; signal?: AbortSignal } = {},
): Promise<FileLock | undefined> {
  return new Promise((resolve, reject) => {
    const args = [mode === "shared" ? "-s" : "-x", "-E", String(BUSY)];
    if (options.wait === false) args.push("-n");
    // `cat` runs only once the lock is held; it echoes the line written below (the
    // acknowledgement), then holds the lock until its stdin closes.
    args.push(file, "cat");
    const child = spawn("flock", args, {
      stdio: ["pipe", "pipe", "pipe"],
      env: { PATH: "/usr/bin:/bin:/usr/sbin:/sbin", LC_ALL: "C" },
    });
    let err = "";
    let held = false;
    const exited = new Promise<void>((r) => child.once("close", () => r()));
    const onAbort = () => child.kill("SIGKILL");
    options.signal?.addEventListener("abort", onAbort, { once: true });
    child.stderr.on("data", (d: Buffer) => {
      err += d.toString();
    });
    child.stdout.on("data", (d: Buffer) => {
      if (held || !d.toString().includes("locked")) return;
      held = true;
      options.signal?.removeEventListener("abort", onAbort);
      resolve({
        release: async () => {
          child.stdin.end();
          await exited;
        },
      });
    });
    child.stdin.on("error", () => {});
    child.stdin.write("locked\n");
    child.on("error", (e) => reject(new MountLockError(`cannot run flock: ${e.message}`)));
    child.on("close", (code) => {
      options.signal?.removeEventListener("abort", onAbort);
      if (held) return;
      if (options.signal?.aborted) reject(new BuildAbortedError());
      else if (code === BUSY) resolve(undefined);
      else reject(new MountLockError(`cannot lock ${file}: ${err.trim() || `flock exited ${code}`}`));
    });
  });
}
