import { existsSync } from "node:fs";
import { chmod, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { busyboxLayout, CACHE_DIR } from "./base-images.js";
import { run } from "./exec.js";

/**
 * An unpacked busybox rootfs (the umoci-built test image, unpacked by umoci — not by molt),
 * cached between runs. Never run commands in it directly: take a {@link freshRootfs} copy.
 */
export async function busyboxRootfs(): Promise<string> {
  const layout = await busyboxLayout();
  const dir = join(CACHE_DIR, `${layout.split("/").at(-2)}-rootfs`);
  if (existsSync(join(dir, "done"))) return join(dir, "bundle", "rootfs");
  await rm(dir, { recursive: true, force: true });
  await run("mkdir", ["-p", dir]);
  await run("umoci", ["unpack", "--image", `${layout}:amd64`, join(dir, "bundle")]);
  await run("touch", [join(dir, "done")]);
  return join(dir, "bundle", "rootfs");
}

/** A private copy (`cp -a`) of the busybox rootfs in a new temp dir; `dispose` removes it. */
export async function freshRootfs(): Promise<{ rootfs: string; dir: string; dispose: () => Promise<void> }> {
  const src = await busyboxRootfs();
  const dir = await mkdtemp(join(tmpdir(), "molt-runner-test-"));
  await chmod(dir, 0o755);
  const rootfs = join(dir, "rootfs");
  await run("cp", ["-a", src, rootfs]);
  return { rootfs, dir, dispose: () => rm(dir, { recursive: true, force: true }) };
}

/** Lines of this process's mountinfo that mention `path`. */
export async function mountsUnder(path: string): Promise<string[]> {
  const { readFile } = await import("node:fs/promises");
  return (await readFile("/proc/self/mountinfo", "utf8")).split("\n").filter((l) => l.includes(path));
}

/** Host pids of processes whose root directory is `rootfs` (processes chrooted into it). */
export async function processesIn(rootfs: string): Promise<number[]> {
  const { readdir, readlink } = await import("node:fs/promises");
  const out: number[] = [];
  for (const p of await readdir("/proc")) {
    if (!/^\d+$/.test(p)) continue;
    try {
      if ((await readlink(`/proc/${p}/root`)) === rootfs) out.push(Number(p));
    } catch {
      // gone or not ours
    }
  }
  return out;
}
