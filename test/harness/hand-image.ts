import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { createWriteStream } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable, Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
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
      const gz = join(dir, `layer${i}.tar.gz`);
      truth.push(await tarGzip(layer, gz));
      const bytes = await readFile(gz);
      descriptors.push({ mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", ...(await put(bytes)) });
      await rm(gz);
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

/**
 * Streams a layer's tar (GNU tar for a directory) through sha256 into `gzip -n`, writing `out`;
 * returns the tar's digest. Never holds the uncompressed tar in memory (a bomb's is huge).
 */
async function tarGzip(layer: HandLayer, out: string): Promise<string> {
  const hash = createHash("sha256");
  const gzip = spawn("gzip", ["-n", "-c"], { stdio: ["pipe", "pipe", "inherit"] });
  const written = pipeline(gzip.stdout, createWriteStream(out));
  const exited = new Promise<number | null>((r) => gzip.once("close", r));
  const hashed = new Transform({
    transform(chunk: Buffer, _e, cb) {
      hash.update(chunk);
      cb(null, chunk);
    },
  });
  if ("tar" in layer) {
    await pipeline(Readable.from([layer.tar]), hashed, gzip.stdin);
  } else {
    const tar = spawn("tar", ["-C", layer.dir, "--numeric-owner", "-cf", "-", "."], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    const tarExit = new Promise<number | null>((r) => tar.once("close", r));
    await pipeline(tar.stdout, hashed, gzip.stdin);
    if ((await tarExit) !== 0) throw new Error(`tar of ${layer.dir} failed`);
  }
  await written;
  if ((await exited) !== 0) throw new Error("gzip failed");
  return `sha256:${hash.digest("hex")}`;
}
