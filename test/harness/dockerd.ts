import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { run } from "./exec.js";
import { requireBinary } from "./registry.js";

/** The Docker client from Debian's docker.io (a newer `docker` on PATH may refuse to build without buildx). */
export const DOCKER_CLIENT = "/usr/bin/docker";

/** A dockerd (Debian docker.io 20.10) with all its state in a temporary directory. */
export interface RunningDockerd {
  /** `unix://…/docker.sock` */
  host: string;
  /** Environment for the docker client: DOCKER_HOST, DOCKER_BUILDKIT=1, a private DOCKER_CONFIG. */
  env: NodeJS.ProcessEnv;
  dir: string;
  stop(): Promise<void>;
}

function ping(sock: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ socketPath: sock, path: "/_ping", method: "GET", timeout: 1000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on("error", () => resolve(false));
    req.on("timeout", () => {
      req.destroy();
      resolve(false);
    });
    req.end();
  });
}

/** Unmounts every mount at or below `dir` (deepest first); dockerd may leave some behind. */
async function unmountBelow(dir: string): Promise<void> {
  const mounts = (await readFile("/proc/self/mounts", "utf8"))
    .split("\n")
    .map((l) => l.split(" ")[1]?.replace(/\\040/g, " "))
    .filter((m): m is string => !!m && (m === dir || m.startsWith(`${dir}/`)))
    .sort((a, b) => b.length - a.length);
  for (const m of mounts) await run("umount", ["-l", m], { allowFail: true });
}

/**
 * Starts dockerd as `../shared/notes/machine.md` describes: data and exec roots, pid file and
 * socket in a temp dir, `--iptables=false --ip-masq=false` (the host's firewall untouched) and
 * `--bridge=none` (no shared docker0 bridge: builds use `--network host`), the test registry
 * allowed over plain HTTP. Throws — never skips — when it does not answer within 60 s.
 */
export async function startDockerd(insecureRegistries: string[]): Promise<RunningDockerd> {
  requireBinary("dockerd", "Debian package docker.io");
  if (!existsSync(DOCKER_CLIENT))
    throw new Error(`test harness: ${DOCKER_CLIENT} missing (Debian package docker.io)`);
  const dir = await mkdtemp(join(tmpdir(), "molt-dockerd-"));
  const sock = join(dir, "docker.sock");
  await mkdir(join(dir, "config"));
  const args = [
    "--data-root",
    join(dir, "root"),
    "--exec-root",
    join(dir, "exec"),
    "--pidfile",
    join(dir, "pid"),
    "-H",
    `unix://${sock}`,
    "--storage-driver",
    process.env.MOLT_TEST_DOCKER_STORAGE ?? "overlay2",
    "--iptables=false",
    "--ip-masq=false",
    "--bridge=none",
    ...insecureRegistries.flatMap((r) => ["--insecure-registry", r]),
  ];
  const child: ChildProcess = spawn("dockerd", args, { stdio: ["ignore", "ignore", "pipe"], detached: true });
  let log = "";
  child.stderr?.on("data", (d: Buffer) => {
    log = (log + d.toString()).slice(-20_000);
  });
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      const t = setTimeout(() => child.kill("SIGKILL"), 20_000);
      await exited;
      clearTimeout(t);
    }
    await unmountBelow(dir);
    await rm(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 60_000;
  while (!(await ping(sock))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error(
        `test harness: dockerd did not start (Debian docker.io; needs root):\n${log.slice(-3000)}`,
      );
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  const env = {
    ...process.env,
    DOCKER_HOST: `unix://${sock}`,
    DOCKER_BUILDKIT: "1",
    DOCKER_CONFIG: join(dir, "config"),
  };
  return { host: `unix://${sock}`, env, dir, stop };
}
