import { createHash } from "node:crypto";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { run } from "./exec.js";
import { requireBinary } from "./registry.js";

const sha256 = (b: Buffer | string) => createHash("sha256").update(b).digest("hex");

/** One layer of {@link pushHandMadeImage}: a directory tarred by GNU tar, or raw tar bytes. */
export type HandLayer = { dir: string } | { tar: Buffer };

/**
 * Writes an OCI layout by hand (GNU tar + gzip for the layers, JSON written here from the image
 * spec, no molt code) and pushes it to `ref` on the plain-HTTP test registry with skopeo.
 * `diffIds` replaces the config's `rootfs.diff_ids` (to make a config that lies); by default they
 * are the true sha256 of each uncompressed tar. Returns the true diff_ids.
 */
export async function pushHandMadeImage(
  ref: string,
  layers: HandLayer[],
  options: { diffIds?: (truth: string[]) => string[] } = {},
): Promise<string[]> {
  requireBinary("skopeo", "Debian package skopeo");
  const dir = await mkdtemp(join(tmpdir(), "molt-hand-image-"));
  try {
    const blobs = join(dir, "blobs", "sha256");
    await mkdir(blobs, { recursive: true });
    const put = async (b: Buffer | string) => {
      const hex = sha256(b);
      await writeFile(join(blobs, hex), b);
      return { digest: `sha256:${hex}`, size: Buffer.byteLength(b) };
    };
    const truth: string[] = [];
    const descriptors: { mediaType: string; digest: string; size: number }[] = [];
    for (const [i, layer] of layers.entries()) {
      let tar: Buffer;
      if ("tar" in layer) tar = layer.tar;
      else {
        const file = join(dir, `layer${i}.tar`);
        await run("tar", ["-C", layer.dir, "--numeric-owner", "-cf", file, "."]);
        tar = await readFile(file);
      }
      truth.push(`sha256:${sha256(tar)}`);
      const gz = (await runBytes("gzip", ["-n", "-c"], tar)) as Buffer;
      descriptors.push({ mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", ...(await put(gz)) });
    }
    const config = JSON.stringify({
      architecture: "amd64",
      os: "linux",
      config: { Env: ["PATH=/bin"] },
      rootfs: { type: "layers", diff_ids: options.diffIds ? options.diffIds(truth) : truth },
    });
    const manifest = JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      config: { mediaType: "application/vnd.oci.image.config.v1+json", ...(await put(config)) },
      layers: descriptors,
    });
    const m = await put(manifest);
    await writeFile(join(dir, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
    await writeFile(
      join(dir, "index.json"),
      JSON.stringify({
        schemaVersion: 2,
        manifests: [
          {
            mediaType: "application/vnd.oci.image.manifest.v1+json",
            ...m,
            annotations: { "org.opencontainers.image.ref.name": "x" },
          },
        ],
      }),
    );
    await run("skopeo", ["copy", "--quiet", "--dest-tls-verify=false", `oci:${dir}:x`, `docker://${ref}`]);
    return truth;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Runs a filter program over `input` and returns its stdout as bytes. */
async function runBytes(cmd: string, args: string[], input: Buffer): Promise<Buffer> {
  const { spawn } = await import("node:child_process");
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ["pipe", "pipe", "inherit"] });
    const out: Buffer[] = [];
    child.stdout.on("data", (d: Buffer) => out.push(d));
    child.on("error", reject);
    child.on("close", (code) =>
      code === 0 ? resolve(Buffer.concat(out)) : reject(new Error(`${cmd} exited ${code}`)),
    );
    child.stdin.end(input);
  });
}
