import { createHash } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { mkdir, open, readFile, rename, writeFile } from "node:fs/promises";
import { join, posix } from "node:path";
import { pipeline } from "node:stream/promises";
import { createGzip } from "node:zlib";
import { MediaType, sha256 } from "@molt/oci";
import tar from "tar-stream";

/** One image of a docker-archive's `manifest.json`. */
interface ArchiveEntry {
  Config: string;
  RepoTags?: string[] | null;
  Layers: string[];
}

/** Reads a whole file's sha256 and size. */
async function digestFile(file: string): Promise<{ digest: string; size: number }> {
  const h = createHash("sha256");
  let size = 0;
  for await (const c of createReadStream(file)) {
    h.update(c as Buffer);
    size += (c as Buffer).length;
  }
  return { digest: `sha256:${h.digest("hex")}`, size };
}

/** True when the file starts with gzip's magic bytes. */
async function isGzip(file: string): Promise<boolean> {
  const fh = await open(file, "r");
  try {
    const b = Buffer.alloc(2);
    await fh.read(b, 0, 2, 0);
    return b[0] === 0x1f && b[1] === 0x8b;
  } finally {
    await fh.close();
  }
}

/**
 * Turns a docker-archive tarball (`docker save`, `podman save`, `molt build --tar-path`) into an
 * OCI image layout in `dir` (tagged `latest`), so it can be pushed like one. Plain-tar layers
 * are gzip-compressed on the way (a registry manifest names compressed layers); gzip layers are
 * kept byte for byte. Only the archive's first image is taken. Entry names are read as paths
 * inside the archive only: nothing is written outside `dir`.
 */
export async function dockerArchiveToLayout(archive: string, dir: string): Promise<{ tags: string[] }> {
  const files = join(dir, "files");
  await mkdir(files, { recursive: true });
  const stored = new Map<string, string>();
  const links = new Map<string, string>();
  let count = 0;
  const extract = tar.extract();
  extract.on("entry", (header, stream, next) => {
    const name = posix.normalize(header.name).replace(/^\.?\/+/, "");
    if (name.startsWith("..")) {
      stream.resume();
      next();
      return;
    }
    if (header.type === "symlink" || header.type === "link") {
      const target =
        header.type === "symlink"
          ? posix.join(posix.dirname(name), header.linkname ?? "")
          : (header.linkname ?? "");
      links.set(name, posix.normalize(target));
      stream.resume();
      next();
      return;
    }
    if (header.type !== "file") {
      stream.resume();
      next();
      return;
    }
    const path = join(files, `f${count++}`);
    stored.set(name, path);
    pipeline(stream, createWriteStream(path)).then(() => next(), next);
  });
  await pipeline(createReadStream(archive), extract);
  const resolve = (name: string): string => {
    let n = posix.normalize(name);
    for (let i = 0; i < 16 && links.has(n); i++) n = links.get(n)!;
    const p = stored.get(n);
    if (!p) throw new Error(`${archive}: the archive has no file "${name}"`);
    return p;
  };
  const entries = JSON.parse(await readFile(resolve("manifest.json"), "utf8")) as ArchiveEntry[];
  const image = entries[0];
  if (!image) throw new Error(`${archive}: manifest.json lists no image`);
  const blobs = join(dir, "layout", "blobs", "sha256");
  await mkdir(blobs, { recursive: true });
  const put = async (file: string) => {
    const d = await digestFile(file);
    await rename(file, join(blobs, d.digest.slice("sha256:".length)));
    return d;
  };
  const configBytes = await readFile(resolve(image.Config));
  const config = { mediaType: MediaType.OciConfig, digest: sha256(configBytes), size: configBytes.length };
  await writeFile(join(blobs, config.digest.slice("sha256:".length)), configBytes);
  const layers: { mediaType: string; digest: string; size: number }[] = [];
  for (const l of image.Layers) {
    let file = resolve(l);
    if (!(await isGzip(file))) {
      const gz = `${file}.gz`;
      await pipeline(createReadStream(file), createGzip(), createWriteStream(gz));
      file = gz;
    }
    layers.push({ mediaType: MediaType.OciLayerGzip, ...(await put(file)) });
  }
  const manifest = Buffer.from(
    JSON.stringify({ schemaVersion: 2, mediaType: MediaType.OciManifest, config, layers }),
  );
  const md = sha256(manifest);
  await writeFile(join(blobs, md.slice("sha256:".length)), manifest);
  await writeFile(join(dir, "layout", "oci-layout"), '{"imageLayoutVersion":"1.0.0"}');
  await writeFile(
    join(dir, "layout", "index.json"),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [
        {
          mediaType: MediaType.OciManifest,
          digest: md,
          size: manifest.length,
          annotations: { "org.opencontainers.image.ref.name": "latest" },
        },
      ],
    }),
  );
  return { tags: image.RepoTags ?? [] };
}
