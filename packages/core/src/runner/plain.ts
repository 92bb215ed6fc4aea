import { chmod, lstat, mkdir, readFile, stat, symlink, writeFile } from "node:fs/promises";
import { MATERIALISED_LIMITATIONS, type Materialised, materialiseMounts } from "../mounts/materialise.js";
import { enterCommand, hostEnv } from "./command-line.js";
import type { HostCapabilities } from "./detect.js";
import { RunnerSetupError, RunUnsupportedError } from "./errors.js";
import { run as exec } from "./exec.js";
import { shQuote } from "./host-tools.js";
import { type MountPoints, restoreMountPoints, setMtime } from "./mount-points.js";
import { runProcess } from "./process.js";
import { mkdirInRoot } from "./root-path.js";
import type { RunOutcome, RunSpec } from "./types.js";

const HOST_ENV = { PATH: "/usr/sbin:/usr/bin:/sbin:/bin", LC_ALL: "C" };
const NODES: [string, number, number][] = [
  ["null", 1, 3],
  ["zero", 1, 5],
  ["full", 1, 7],
  ["random", 1, 8],
  ["urandom", 1, 9],
  ["tty", 5, 0],
];
const LINKS: [string, string][] = [
  ["fd", "/proc/self/fd"],
  ["stdin", "/proc/self/fd/0"],
  ["stdout", "/proc/self/fd/1"],
  ["stderr", "/proc/self/fd/2"],
];

/** The limitations of a chroot without mounts (a plain unprivileged container). */
export const PLAIN_LIMITATIONS = [
  "no mount namespace: no /proc, /sys, /dev/pts or /dev/shm for commands",
  "device nodes /dev/null, zero, full, random, urandom, tty are created in the root for each command and removed after (needs CAP_MKNOD)",
  "/etc/resolv.conf and /etc/hosts are the host's during a command (the image's are put back after)",
  "no PID namespace: processes that leave the command's process group (setsid) can outlive an abort",
  "--network=none is refused (no network namespace)",
  ...MATERIALISED_LIMITATIONS,
];

async function kind(p: string): Promise<"dir" | "file" | "missing" | "other"> {
  try {
    const st = await lstat(p);
    return st.isDirectory() ? "dir" : st.isFile() ? "file" : "other";
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return "missing";
    throw e;
  }
}

interface Replaced {
  path: string;
  content: Buffer;
  mode: number;
  mtimeNs: bigint;
}

/**
 * Runs `spec` with chroot alone, for hosts that refuse mounts and namespaces: what the command
 * needs in `/dev` and `/etc` is put into the root (device nodes with `mknod`, the host's
 * resolv.conf and hosts over the image's) and taken out again afterwards, parents' mtimes restored.
 */
export async function runPlain(caps: HostCapabilities, spec: RunSpec): Promise<RunOutcome> {
  const tools = caps.tools;
  if (spec.network === "none")
    throw new RunUnsupportedError("--network=none needs a network namespace, which this host refuses");
  const wd = await mkdirInRoot(spec.rootfs, spec.cwd, spec.user);
  const r = spec.rootfs === "/" ? "" : spec.rootfs;
  const mp: MountPoints = { created: [], parents: new Map(), skipped: new Map() };
  const replaced: Replaced[] = [];
  let mounted: Materialised | undefined;
  const remember = async (parent: string) => {
    if (!mp.parents.has(parent))
      mp.parents.set(parent, { before: (await stat(parent, { bigint: true })).mtimeNs });
  };
  try {
    const dev = `${r}/dev`;
    let devKind = await kind(dev);
    if (devKind === "missing") {
      await remember(spec.rootfs);
      await mkdir(dev, { mode: 0o755 });
      mp.created.push(dev);
      devKind = "dir";
    }
    if (devKind === "dir") {
      const nodes = [];
      for (const [n, maj, min] of NODES)
        if ((await kind(`${dev}/${n}`)) === "missing") nodes.push([`${dev}/${n}`, maj, min] as const);
      if (nodes.length > 0 && tools.sh && tools.mknod) {
        await remember(dev);
        const script = nodes
          .map(([p, a, b]) => `${shQuote(tools.mknod!)} -m 666 ${shQuote(p)} c ${a} ${b}`)
          .join(" && ");
        const res = await exec(tools.sh, ["-c", script], { env: HOST_ENV });
        for (const [p] of nodes) if ((await kind(p)) !== "missing") mp.created.push(p);
        if (res.code !== 0)
          throw new RunnerSetupError(`cannot create device nodes in the root: ${res.stderr.trim()}`);
      }
      for (const [n, target] of LINKS) {
        const p = `${dev}/${n}`;
        if ((await kind(p)) !== "missing") continue;
        await remember(dev);
        await symlink(target, p);
        mp.created.push(p);
      }
      const transient = spec.transientFiles ?? [];
      if (transient.length > 0) {
        const pipes = `${dev}/pipes`;
        const pk = await kind(pipes);
        if (pk === "missing") {
          await remember(dev);
          await mkdir(pipes, { mode: 0o755 });
          mp.created.push(pipes);
        } else if (pk !== "dir") throw new RunnerSetupError("/dev/pipes in the image is not a directory");
        for (const f of transient) {
          const p = `${pipes}/${f.path.slice("/dev/pipes/".length)}`;
          await remember(pipes);
          await writeFile(p, f.content, { mode: f.mode, flag: "wx" });
          await chmod(p, f.mode);
          mp.created.push(p);
        }
      }
    }
    const etc = `${r}/etc`;
    let etcKind = await kind(etc);
    if (etcKind === "missing") {
      await remember(spec.rootfs);
      await mkdir(etc, { mode: 0o755 });
      mp.created.push(etc);
      etcKind = "dir";
    }
    if (etcKind === "dir") {
      for (const name of ["resolv.conf", "hosts"]) {
        const host = await readFile(`/etc/${name}`).catch(() => undefined);
        if (!host) continue;
        const p = `${etc}/${name}`;
        const k = await kind(p);
        if (k === "missing") {
          await remember(etc);
          await writeFile(p, host, { mode: 0o644 });
          mp.created.push(p);
        } else if (k === "file") {
          const st = await stat(p, { bigint: true });
          replaced.push({
            path: p,
            content: await readFile(p),
            mode: Number(st.mode & 0o7777n),
            mtimeNs: st.mtimeNs,
          });
          await writeFile(p, host);
        }
      }
    }
    for (const [parent, t] of mp.parents) t.after = (await stat(parent, { bigint: true })).mtimeNs;
    if (spec.mounts && spec.mounts.length > 0)
      mounted = await materialiseMounts(spec.rootfs, spec.mounts, tools.touch);
    const argv = enterCommand(tools, spec, spec.rootfs, wd, true);
    return await runProcess({ file: argv[0]!, args: argv.slice(1), env: hostEnv(spec) }, spec);
  } finally {
    await mounted?.restore();
    for (const f of replaced.reverse()) {
      await writeFile(f.path, f.content).catch(() => {});
      await chmod(f.path, f.mode).catch(() => {});
      await setMtime(f.path, f.mtimeNs, tools.touch).catch(() => {});
    }
    await restoreMountPoints(mp, tools.touch);
  }
}
