import { type ChildProcess, type StdioOptions, spawn } from "node:child_process";
import { constants } from "node:os";
import type { Writable } from "node:stream";
import createDebug from "debug";
import { RunAbortedError, RunnerSetupError, RunTimeoutError } from "./errors.js";
import { LineSplitter } from "./output-lines.js";
import type { RunOutcome, RunSpec } from "./types.js";

const debug = createDebug("molt:run");

/** Marker our setup scripts print on stderr before exiting 125 when the root cannot be prepared. */
export const SETUP_FAILED_MARKER = "molt-runner-setup-failed:";
/** How long output pipes may stay open after the main process exited before they are cut. */
const PIPE_GRACE_MS = 500;

/** A host program to start for one run. */
export interface ProcessPlan {
  file: string;
  args: string[];
  /** Environment of the host program (not of the command: that is in `args`). */
  env: Record<string, string>;
  cwd?: string;
}

function killGroup(child: ChildProcess): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, "SIGKILL");
  } catch {
    // already gone
  }
  try {
    child.kill("SIGKILL");
  } catch {
    // already gone
  }
}

function feed(stream: Writable | null | undefined, content: string | Buffer): void {
  if (!stream) return;
  stream.on("error", () => {}); // EPIPE when the command does not read: not our failure
  stream.end(content);
}

/**
 * Starts `plan` in its own process group, feeds stdin and extra fds, streams output line by line
 * and settles: resolves with the exit status, rejects on abort/timeout (after the whole group is
 * killed and the process has exited) or when the setup script reported a failure.
 */
export function runProcess(plan: ProcessPlan, spec: RunSpec): Promise<RunOutcome> {
  return new Promise<RunOutcome>((resolve, reject) => {
    if (spec.signal?.aborted) {
      reject(new RunAbortedError({ cause: spec.signal.reason }));
      return;
    }
    const extra = spec.extraFds ?? [];
    const maxFd = Math.max(2, ...extra.map((e) => e.fd));
    const stdio: StdioOptions = [spec.stdin !== undefined ? "pipe" : "ignore", "pipe", "pipe"];
    for (let fd = 3; fd <= maxFd; fd++) stdio.push(extra.some((e) => e.fd === fd) ? "pipe" : "ignore");

    // Environment values (build args, ENV) are left out of debug output.
    const env = new Set(spec.env);
    debug(
      "spawn %s %o",
      plan.file,
      plan.args.map((a) => (env.has(a) ? `${a.slice(0, a.indexOf("="))}=…` : a)),
    );
    const child = spawn(plan.file, plan.args, { env: plan.env, cwd: plan.cwd, stdio, detached: true });
    // A listener that throws stops the run (killed, rejected with its error) instead of crashing
    // the process from inside a stream callback.
    const listener = spec.onOutput;
    const safe = listener
      ? (st: "stdout" | "stderr", line: string, partial?: boolean) => {
          try {
            listener(st, line, partial);
          } catch (e) {
            stop(e instanceof Error ? e : new Error(String(e)));
          }
        }
      : undefined;
    const out = new LineSplitter("stdout", safe);
    const setupErrors: string[] = [];
    const errListener = safe;
    const err = new LineSplitter("stderr", (s, line, partial) => {
      if (line.startsWith(SETUP_FAILED_MARKER))
        setupErrors.push(line.slice(SETUP_FAILED_MARKER.length).trim());
      else errListener?.(s, line, partial);
    });
    child.stdout?.on("data", (d: Buffer) => out.write(d));
    child.stderr?.on("data", (d: Buffer) => err.write(d));

    let failure: Error | undefined;
    let exited = false;
    const stop = (e: Error) => {
      if (failure || exited) return;
      failure = e;
      killGroup(child);
    };
    const onAbort = () => stop(new RunAbortedError({ cause: spec.signal?.reason }));
    spec.signal?.addEventListener("abort", onAbort, { once: true });
    const timer =
      spec.timeoutMs !== undefined
        ? setTimeout(() => stop(new RunTimeoutError(spec.timeoutMs!)), spec.timeoutMs)
        : undefined;

    if (spec.stdin !== undefined) feed(child.stdin, spec.stdin);
    for (const e of extra) feed(child.stdio[e.fd] as Writable | null, e.content);

    let settled = false;
    const finish = (code: number | null, sig: NodeJS.Signals | null) => {
      if (settled) return;
      settled = true;
      spec.signal?.removeEventListener("abort", onAbort);
      if (timer) clearTimeout(timer);
      out.end();
      err.end();
      if (failure) return reject(failure);
      if (setupErrors.length > 0 && code === 125) {
        return reject(new RunnerSetupError(`cannot prepare the root: ${setupErrors.join("; ")}`));
      }
      if (sig) {
        const n = constants.signals[sig] ?? 0;
        return resolve({ exitCode: 128 + n, signal: sig });
      }
      resolve({ exitCode: code ?? 0 });
    };

    child.on("error", (e) => {
      spec.signal?.removeEventListener("abort", onAbort);
      if (timer) clearTimeout(timer);
      reject(new RunnerSetupError(`cannot start ${plan.file}: ${e.message}`, { cause: e }));
    });
    child.on("exit", (code, sig) => {
      exited = true;
      debug("exit %s %s", code, sig ?? "");
      // Whatever the command left running in its group dies with it, as in a container.
      killGroup(child);
      const streams = [child.stdout, child.stderr].filter((s) => s && !s.closed);
      if (streams.length === 0) return finish(code, sig);
      let left = streams.length;
      const grace = setTimeout(() => {
        for (const s of streams) s!.destroy();
        finish(code, sig);
      }, PIPE_GRACE_MS);
      for (const s of streams)
        s!.once("close", () => {
          if (--left === 0) {
            clearTimeout(grace);
            finish(code, sig);
          }
        });
    });
  });
}
