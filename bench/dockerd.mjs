// Docker's engine (Debian docker.io, dockerd 20.10 with BuildKit) as a reference builder for the
// benchmarks, started the way shared/notes/machine.md describes: state in a temp dir, its own
// socket, no iptables changes, the loopback registry allowed over plain HTTP.
import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, openSync, readFileSync } from "node:fs";
import { join } from "node:path";

/** Whether a program is on PATH. */
export const have = (b) => spawnSync("sh", ["-c", `command -v ${b}`]).status === 0;

/**
 * Starts dockerd under `dir` and waits for `/_ping`. Returns `docker` (the 20.10 client with the
 * env to reach it), `env`, `cmd(sub)` to run a docker subcommand, and `stop()`.
 */
export async function startDockerd(dir, registryHost) {
  mkdirSync(dir, { recursive: true });
  const sock = join(dir, "docker.sock");
  const log = openSync(join(dir, "log"), "a");
  const child = spawn(
    "dockerd",
    [
      "--data-root",
      join(dir, "root"),
      "--exec-root",
      join(dir, "exec"),
      "--pidfile",
      join(dir, "pid"),
      "-H",
      `unix://${sock}`,
      "--storage-driver",
      "overlay2",
      "--insecure-registry",
      registryHost,
      "--iptables=false",
      "--ip-masq=false",
      "--bridge=none",
    ],
    { stdio: ["ignore", log, log], detached: true },
  );
  const env = { DOCKER_HOST: `unix://${sock}`, DOCKER_BUILDKIT: "1" };
  const docker = "/usr/bin/docker";
  const ping = () =>
    spawnSync(docker, ["version", "--format", "{{.Server.Version}}"], { env: { ...process.env, ...env } })
      .status === 0;
  for (let i = 0; i < 300 && !ping(); i++) await new Promise((r) => setTimeout(r, 100));
  if (!ping()) {
    child.kill("SIGKILL");
    throw new Error(`dockerd did not start: ${readFileSync(join(dir, "log"), "utf8").slice(-2000)}`);
  }
  return {
    docker,
    env,
    cmd: (sub) =>
      spawnSync("bash", ["-c", `${docker} ${sub}`], { env: { ...process.env, ...env }, stdio: "ignore" }),
    async stop() {
      child.kill("SIGTERM");
      await new Promise((r) => {
        const t = setTimeout(() => {
          child.kill("SIGKILL");
          r();
        }, 15000);
        child.on("exit", () => {
          clearTimeout(t);
          r();
        });
      });
      // dockerd may leave mounts under its roots
      spawnSync("sh", [
        "-c",
        `grep -o " ${dir}[^ ]*" /proc/self/mountinfo | sort -r | xargs -r -n1 umount -l`,
      ]);
    },
  };
}
