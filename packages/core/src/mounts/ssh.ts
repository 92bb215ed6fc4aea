import { type ChildProcess, spawn } from "node:child_process";
import { chmod, chown, lstat, mkdtemp, rm } from "node:fs/promises";
import { createConnection, createServer, type Server, type Socket } from "node:net";
import { join } from "node:path";
import { run as exec } from "../runner/exec.js";
import { MountSshError } from "./errors.js";

/**
 * Where the agent for an `--ssh` id comes from: agent sockets and/or private key files
 * (`--ssh default` is `$SSH_AUTH_SOCK`; `--ssh id=PATH[,PATH]`). Keys are loaded into an
 * `ssh-agent` started for the step (OpenSSH's `ssh-agent`/`ssh-add` must be installed).
 */
export type SshSource = readonly string[];

/** An agent socket made for one RUN; close it after the command. */
export interface SshAgent {
  /** Host path of the socket the command's mount points at. */
  socket: string;
  close(): Promise<void>;
}

/**
 * Parses one `--ssh` flag value: `default`, `default=PATH[,PATH]` or `ID=PATH[,PATH]`
 * (BuildKit's form). `default` alone means `$SSH_AUTH_SOCK`.
 */
export function parseSshFlag(
  value: string,
  env: NodeJS.ProcessEnv = process.env,
): { id: string; paths: string[] } | { error: string } {
  const eq = value.indexOf("=");
  const id = (eq < 0 ? value : value.slice(0, eq)).trim();
  if (!id) return { error: "an id is required (default, or ID=PATH)" };
  const paths =
    eq < 0
      ? []
      : value
          .slice(eq + 1)
          .split(",")
          .filter((p) => p !== "");
  if (paths.length === 0) {
    if (!env.SSH_AUTH_SOCK) return { error: `${id}: no path given and SSH_AUTH_SOCK is not set` };
    paths.push(env.SSH_AUTH_SOCK);
  }
  return { id, paths };
}

/**
 * Starts a proxy socket in a new directory under `tmp`, owned by `uid:gid` with `mode`, that
 * forwards each connection to the agent for `paths`: the first socket among them, else an
 * `ssh-agent` holding the key files. Nothing of the agent's keys is read by molt itself.
 */
export async function startSshAgent(
  tmp: string,
  paths: SshSource,
  owner: { uid: number; gid: number; mode: number },
): Promise<SshAgent> {
  const dir = await mkdtemp(join(tmp, "ssh-"));
  let agent: ChildProcess | undefined;
  let upstream: string | undefined;
  const keys: string[] = [];
  for (const p of paths) {
    const st = await lstat(p).catch(() => undefined);
    if (!st) throw new MountSshError(`ssh: ${p} does not exist`);
    if (st.isSocket()) upstream ??= p;
    else keys.push(p);
  }
  let server: Server | undefined;
  try {
    if (!upstream) {
      upstream = join(dir, "agent.sock");
      agent = spawn("ssh-agent", ["-D", "-a", upstream], { stdio: "ignore", env: { PATH: "/usr/bin:/bin" } });
      const failed = new Promise<never>((_, reject) => {
        agent!.once("error", (e) => reject(new MountSshError(`cannot start ssh-agent: ${e.message}`)));
      });
      for (let i = 0; i < 200 && !(await lstat(upstream).catch(() => undefined)); i++)
        await Promise.race([new Promise((r) => setTimeout(r, 10)), failed]);
      for (const k of keys) {
        const r = await exec("ssh-add", ["-q", k], {
          env: { PATH: "/usr/bin:/bin", SSH_AUTH_SOCK: upstream },
        });
        if (r.code !== 0) throw new MountSshError(`ssh-add cannot load the key ${k}`);
      }
    }
    const target = upstream;
    const socket = join(dir, "proxy.sock");
    const open = new Set<Socket>();
    server = createServer((c) => {
      const u = createConnection(target);
      open.add(c);
      open.add(u);
      c.once("close", () => open.delete(c));
      u.once("close", () => open.delete(u));
      c.pipe(u).pipe(c);
      c.on("error", () => u.destroy());
      u.on("error", () => c.destroy());
    });
    await new Promise<void>((resolve, reject) => {
      server!.once("error", reject);
      server!.listen(socket, () => resolve());
    });
    await chmod(socket, owner.mode);
    await chown(socket, owner.uid, owner.gid).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== "EPERM") throw e;
    });
    const s = server;
    return {
      socket,
      close: async () => {
        for (const c of open) c.destroy();
        await new Promise<void>((r) => s.close(() => r()));
        agent?.kill("SIGTERM");
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (e) {
    server?.close();
    agent?.kill("SIGTERM");
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
}
