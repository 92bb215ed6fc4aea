import { existsSync } from "node:fs";
import { rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { debianRootfs, lockDir } from "./debian-base.js";
import { run } from "./exec.js";
import { requireBinary } from "./registry.js";

/**
 * The Debian bookworm minbase rootfs (debootstrap, cached) as a one-layer OCI image made by
 * umoci — independently of molt — cached under `.cache/`. Returns `layout:tag`.
 */
export async function debianImageLayout(): Promise<string> {
  requireBinary("umoci", "Debian package umoci");
  requireBinary("debootstrap", "Debian package debootstrap");
  const rootfs = await debianRootfs();
  const dir = join(rootfs, "..", "oci");
  const ref = `${dir}:bookworm`;
  if (existsSync(`${dir}.done`)) return ref;
  const release = await lockDir(`${dir}.lock`);
  try {
    if (!existsSync(`${dir}.done`)) await makeLayout(rootfs, dir, ref);
  } finally {
    await release();
  }
  return ref;
}

async function makeLayout(rootfs: string, dir: string, ref: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
  await run("umoci", ["init", "--layout", dir]);
  await run("umoci", ["new", "--image", ref]);
  await run("umoci", ["insert", "--image", ref, rootfs, "/"]);
  await run("umoci", [
    "config",
    "--image",
    ref,
    "--config.env",
    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "--config.cmd",
    "bash",
  ]);
  await writeFile(`${dir}.done`, "");
}

/** Pushes the Debian test image to `registry` as `test/debian:bookworm` (skopeo). */
export async function pushDebian(registry: string): Promise<string> {
  const ref = await debianImageLayout();
  const dest = `${registry}/test/debian:bookworm`;
  await run("skopeo", ["copy", "--quiet", "--dest-tls-verify=false", `oci:${ref}`, `docker://${dest}`]);
  return dest;
}
