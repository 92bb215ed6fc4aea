import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, requireBinary } from "./registry.js";

/** A real `git daemon` serving every repository under `base` on 127.0.0.1. */
export interface RunningGitDaemon {
  /** Directory whose repositories are served: `git://127.0.0.1:PORT/<name>` is `<base>/<name>`. */
  base: string;
  port: number;
  /** `git://127.0.0.1:PORT/<name>` */
  url(name: string): string;
  stop(): Promise<void>;
}

/**
 * Starts `git daemon --export-all` on a free loopback port over a fresh temp base directory and
 * waits until it accepts connections. Protocol v2 is on, so a commit can be fetched by id.
 */
export async function startGitDaemon(): Promise<RunningGitDaemon> {
  requireBinary("git", "Debian package git");
  const base = await mkdtemp(join(tmpdir(), "molt-gitd-"));
  const port = await freePort();
  const child: ChildProcess = spawn(
    "git",
    [
      "daemon",
      "--reuseaddr",
      "--export-all",
      "--listen=127.0.0.1",
      `--port=${port}`,
      `--base-path=${base}`,
      "--informative-errors",
      base,
    ],
    { stdio: ["ignore", "ignore", "pipe"], env: { ...process.env, GIT_CONFIG_NOSYSTEM: "1" } },
  );
  let stderr = "";
  child.stderr?.on("data", (d: Buffer) => {
    stderr += d.toString();
  });
  const deadline = Date.now() + 10_000;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, "127.0.0.1", () => {
        s.destroy();
        resolve(true);
      });
      s.on("error", () => resolve(false));
    });
    if (ok) break;
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill();
      throw new Error(`git daemon did not start: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    base,
    port,
    url: (name) => `git://127.0.0.1:${port}/${name}`,
    stop: async () => {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once("exit", r));
        child.kill();
        await exited;
      }
      await rm(base, { recursive: true, force: true });
    },
  };
}
