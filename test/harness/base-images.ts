import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { chmod, mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { run } from "./exec.js";
import { requireBinary } from "./registry.js";

/** Where test base images are cached between runs (gitignored). */
export const CACHE_DIR = join(import.meta.dirname, "..", "..", ".cache", "test-images");

const sha256 = (b: Buffer | string) => createHash("sha256").update(b).digest("hex");

/**
 * Builds (once, then cached) an OCI layout holding a busybox image made with umoci from
 * Debian's busybox-static — independently of molt's own code. Tags:
 * - `amd64`: linux/amd64 busybox with passwd/group, a `user` account (uid 1000) and Cmd `sh`;
 * - `arm64`: the same files with config architecture arm64 (never run; for platform selection);
 * - `multi`: a hand-written OCI index listing both.
 */
export async function busyboxLayout(): Promise<string> {
  requireBinary("umoci", "Debian package umoci");
  requireBinary("busybox", "Debian package busybox-static");
  const bb = await readFile("/bin/busybox");
  const dir = join(CACHE_DIR, `busybox-${sha256(bb).slice(0, 12)}-v2`);
  if (existsSync(join(dir, "done"))) return join(dir, "layout");
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  const layout = join(dir, "layout");
  const bundle = join(dir, "bundle");
  await run("umoci", ["init", "--layout", layout]);
  await run("umoci", ["new", "--image", `${layout}:amd64`]);
  await run("umoci", ["unpack", "--image", `${layout}:amd64`, bundle]);
  const rootfs = join(bundle, "rootfs");
  for (const d of ["bin", "etc", "tmp", "root", "home/user"])
    await mkdir(join(rootfs, d), { recursive: true });
  await writeFile(join(rootfs, "bin", "busybox"), bb);
  await chmod(join(rootfs, "bin", "busybox"), 0o755);
  await chmod(join(rootfs, "tmp"), 0o1777);
  await run("chroot", [rootfs, "/bin/busybox", "--install", "-s", "/bin"]);
  await writeFile(
    join(rootfs, "etc", "passwd"),
    "root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000:user:/home/user:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n",
  );
  await writeFile(
    join(rootfs, "etc", "group"),
    "root:x:0:\nuser:x:1000:\nstaff:x:50:user\nnogroup:x:65534:\n",
  );
  await run("chown", ["1000:1000", join(rootfs, "home", "user")]);
  await run("umoci", ["repack", "--image", `${layout}:amd64`, bundle]);
  await run("umoci", [
    "config",
    "--image",
    `${layout}:amd64`,
    "--config.cmd",
    "sh",
    "--config.env",
    "PATH=/bin",
  ]);
  // arm64: same layers, different config.
  await run("umoci", ["config", "--image", `${layout}:amd64`, "--tag", "arm64", "--architecture", "arm64"]);
  // Hand-written OCI index over both manifests.
  const index = JSON.parse(await readFile(join(layout, "index.json"), "utf8")) as {
    manifests: { digest: string; size: number; annotations?: Record<string, string> }[];
  };
  const byTag = (t: string) => {
    const m = index.manifests.find((x) => x.annotations?.["org.opencontainers.image.ref.name"] === t);
    if (!m) throw new Error(`umoci layout has no tag ${t}`);
    return m;
  };
  const amd = byTag("amd64");
  const arm = byTag("arm64");
  const multi = JSON.stringify({
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.index.v1+json",
    manifests: [
      {
        mediaType: "application/vnd.oci.image.manifest.v1+json",
        digest: arm.digest,
        size: arm.size,
        platform: { os: "linux", architecture: "arm64", variant: "v8" },
      },
      {
        mediaType: "application/vnd.oci.image.manifest.v1+json",
        digest: amd.digest,
        size: amd.size,
        platform: { os: "linux", architecture: "amd64" },
      },
    ],
  });
  const hex = sha256(multi);
  await writeFile(join(layout, "blobs", "sha256", hex), multi);
  index.manifests.push({
    // @ts-expect-error extra fields are fine in the JSON we write
    mediaType: "application/vnd.oci.image.index.v1+json",
    digest: `sha256:${hex}`,
    size: Buffer.byteLength(multi),
    annotations: { "org.opencontainers.image.ref.name": "multi" },
  });
  await writeFile(join(layout, "index.json"), JSON.stringify(index));
  await rm(bundle, { recursive: true, force: true });
  await writeFile(join(dir, "done"), "");
  return layout;
}

/** Pushes the busybox test images to `registry` as `test/busybox:{latest,multi}` with skopeo. */
export async function pushBusybox(registry: string): Promise<void> {
  requireBinary("skopeo", "Debian package skopeo");
  const layout = await busyboxLayout();
  await run("skopeo", [
    "copy",
    "--quiet",
    "--dest-tls-verify=false",
    `oci:${layout}:amd64`,
    `docker://${registry}/test/busybox:latest`,
  ]);
  await run("skopeo", [
    "copy",
    "--quiet",
    "--all",
    "--dest-tls-verify=false",
    `oci:${layout}:multi`,
    `docker://${registry}/test/busybox:multi`,
  ]);
}
