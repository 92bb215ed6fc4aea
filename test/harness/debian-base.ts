import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";

/** Where the Debian base is cached between runs (gitignored). */
export const DEBIAN_CACHE = join(import.meta.dirname, "..", "..", ".cache", "debian-minbase-bookworm");

function sh(script: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn("sh", ["-euc", script], { stdio: ["ignore", "ignore", "pipe"] });
    let err = "";
    child.stderr.on("data", (d) => {
      err += d;
    });
    child.on("error", reject);
    child.on("close", (code) =>
      code === 0 ? resolve() : reject(new Error(`debian-base: exited ${code}: ${err.slice(-2000)}`)),
    );
  });
}

/**
 * A Debian bookworm `--variant=minbase` root filesystem made by `debootstrap` (about 90 s and
 * 200 MB the first time, then cached under `.cache/`). Needs root and Debian's mirror. Returns the
 * rootfs directory; callers must not modify it.
 */
export async function debianRootfs(
  mirror = process.env.MOLT_DEBIAN_MIRROR ?? "http://deb.debian.org/debian",
): Promise<string> {
  const rootfs = join(DEBIAN_CACHE, "rootfs");
  if (existsSync(join(DEBIAN_CACHE, "rootfs.done"))) return rootfs;
  await mkdir(DEBIAN_CACHE, { recursive: true });
  // Several test files may ask at once (each in its own process): one makes it, the others wait.
  const release = await lockDir(join(DEBIAN_CACHE, "rootfs.lock"));
  try {
    if (existsSync(join(DEBIAN_CACHE, "rootfs.done"))) return rootfs;
    return await makeRootfs(rootfs, mirror);
  } finally {
    await release();
  }
}

/** Takes a lock by making a directory (atomic); waits while another process holds it (up to 10 min). */
export async function lockDir(path: string): Promise<() => Promise<void>> {
  const deadline = Date.now() + 600_000;
  for (;;) {
    try {
      await mkdir(path);
      return () => rm(path, { recursive: true, force: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST" || Date.now() > deadline) throw e;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}

async function makeRootfs(rootfs: string, mirror: string): Promise<string> {
  const tmp = join(DEBIAN_CACHE, "rootfs.tmp");
  await rm(tmp, { recursive: true, force: true });
  await sh(`debootstrap --variant=minbase bookworm ${tmp} ${mirror}`);
  // debootstrap leaves apt caches; an image's base layer would not have them.
  await sh(`rm -rf ${tmp}/var/cache/apt/archives/*.deb ${tmp}/var/lib/apt/lists/*_Packages`);
  await rm(rootfs, { recursive: true, force: true });
  await rename(tmp, rootfs);
  await writeFile(join(DEBIAN_CACHE, "rootfs.done"), "");
  return rootfs;
}

/**
 * The Debian base as one gzip layer made by GNU tar (`--numeric-owner --xattrs`, pax format),
 * cached next to the rootfs. Returns the `.tar.gz` path.
 */
export async function debianLayer(): Promise<string> {
  const rootfs = await debianRootfs();
  const layer = join(DEBIAN_CACHE, "layer.tar.gz");
  if (existsSync(`${layer}.done`)) return layer;
  await sh(
    `tar --format=pax --numeric-owner --xattrs --xattrs-include='*' --sort=name -C ${rootfs} -cf - . | gzip -6 > ${layer}.tmp && mv ${layer}.tmp ${layer}`,
  );
  await writeFile(`${layer}.done`, "");
  return layer;
}
