import { spawnSync } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { gzipSync } from "node:zlib";
import {
  type BlobSource,
  type Descriptor,
  type Digest,
  encodeTarHeader,
  ImageValidationError,
  imageNameTagWithDigest,
  imageNameWithDigest,
  MediaType,
  parseReference,
  serialize,
  sha256,
  TAR_END,
  tarPadding,
  validateImage,
  writeDigestFile,
  writeDockerArchive,
  writeImageNameTagWithDigestFile,
} from "@molt/oci";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

let work: string;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "molt-oci-out-"));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

/** An in-memory blob source. */
function memorySource(): BlobSource & { put(b: Buffer): { digest: Digest; size: number } } {
  const blobs = new Map<string, Buffer>();
  return {
    put(b) {
      const digest = sha256(b);
      blobs.set(digest, b);
      return { digest, size: b.length };
    },
    open(d) {
      const b = blobs.get(d);
      if (!b) throw new Error(`no blob ${d}`);
      return Readable.from([b]);
    },
  };
}

/** A one-file layer tar, written with the encoder and checked by GNU tar below. */
function tinyLayer(name: string, body: string): Buffer {
  const data = Buffer.from(body);
  return Buffer.concat([
    encodeTarHeader({ name, type: "file", mode: 0o644, uid: 0, gid: 0, size: data.length, mtimeNs: 0n }),
    data,
    Buffer.alloc(tarPadding(data.length)),
    TAR_END,
  ]);
}

function image(src: ReturnType<typeof memorySource>, tar: Buffer, diffIdOverride?: Digest) {
  const gz = gzipSync(tar);
  const layer = src.put(gz);
  const config = src.put(
    serialize({
      architecture: "amd64",
      os: "linux",
      rootfs: { type: "layers", diff_ids: [diffIdOverride ?? sha256(tar)] },
      history: [{ created_by: "x" }],
    }),
  );
  const manifest = src.put(
    serialize({
      schemaVersion: 2,
      mediaType: MediaType.OciManifest,
      config: { mediaType: MediaType.OciConfig, ...config },
      layers: [{ mediaType: MediaType.OciLayerGzip, ...layer }],
    }),
  );
  return { manifest: { mediaType: MediaType.OciManifest, ...manifest } as Descriptor, layer, config };
}

describe("docker-archive", () => {
  it("writes manifest.json, repositories and blobs named by digest, uncompressed by default", async () => {
    const src = memorySource();
    const tar = tinyLayer("hello.txt", "hi\n");
    const img = image(src, tar);
    const file = join(work, "d.tar");
    await writeDockerArchive(file, [{ manifest: img.manifest, tags: ["example.com/app:1.0", "app"] }], src);
    const diffHex = sha256(tar).slice(7);
    const cfgHex = img.config.digest.slice(7);
    const list = spawnSync("tar", ["-tf", file], { encoding: "utf8" }).stdout.trim().split("\n");
    expect(list).toEqual([
      "blobs/",
      "blobs/sha256/",
      `blobs/sha256/${cfgHex}`,
      `blobs/sha256/${diffHex}`,
      "manifest.json",
      "repositories",
    ]);
    const x = (name: string) => spawnSync("tar", ["-xOf", file, name]);
    expect(JSON.parse(x("manifest.json").stdout.toString())).toEqual([
      {
        Config: `blobs/sha256/${cfgHex}`,
        RepoTags: ["example.com/app:1.0", "app"],
        Layers: [`blobs/sha256/${diffHex}`],
      },
    ]);
    expect(JSON.parse(x("repositories").stdout.toString())).toEqual({
      "example.com/app": { "1.0": diffHex },
      app: { latest: diffHex },
    });
    expect(x(`blobs/sha256/${diffHex}`).stdout.equals(tar)).toBe(true);
  });

  it("refuses a layer whose content does not match its diffID, and leaves no file", async () => {
    const src = memorySource();
    const img = image(src, tinyLayer("a", "a"), sha256("something else"));
    const file = join(work, "bad.tar");
    await expect(writeDockerArchive(file, [{ manifest: img.manifest }], src)).rejects.toMatchObject({
      code: "MOLT_DIGEST_MISMATCH",
    });
    await expect(readFile(file)).rejects.toMatchObject({ code: "ENOENT" });
  });
});

describe("validateImage", () => {
  it("lists every problem: wrong size, wrong diffID", async () => {
    const src = memorySource();
    const tar = tinyLayer("a", "a");
    const img = image(src, tar, sha256("nope"));
    const mbytes = JSON.parse(
      await new Promise<string>((resolve) => {
        const chunks: Buffer[] = [];
        (src.open(img.manifest.digest) as Readable)
          .on("data", (c: Buffer) => chunks.push(c))
          .on("end", () => resolve(Buffer.concat(chunks).toString()));
      }),
    );
    mbytes.layers[0].size += 1;
    const m = src.put(serialize(mbytes));
    const err = (await validateImage(src, { mediaType: MediaType.OciManifest, ...m }).catch(
      (e) => e,
    )) as ImageValidationError;
    expect(err).toBeInstanceOf(ImageValidationError);
    expect(err.problems).toEqual([
      `layer ${img.layer.digest}: size ${img.layer.size}, descriptor says ${img.layer.size + 1}`,
      `layer ${img.layer.digest}: uncompressed digest ${sha256(tar)}, config diff_ids[0] is ${sha256("nope")}`,
    ]);
  });
});

describe("digest files", () => {
  const digest = `sha256:${"ab".repeat(32)}` as Digest;
  const refs = [parseReference("127.0.0.1:5000/team/app:1.2"), parseReference("busybox")];

  it("formats kaniko's name@digest and name:tag@digest files", () => {
    expect(imageNameWithDigest(refs, digest)).toBe(
      `127.0.0.1:5000/team/app@${digest}\ndocker.io/library/busybox@${digest}\n`,
    );
    expect(imageNameTagWithDigest(refs, digest)).toBe(
      `127.0.0.1:5000/team/app:1.2@${digest}\ndocker.io/library/busybox:latest@${digest}\n`,
    );
  });

  it("writes them atomically, creating parent directories", async () => {
    const p = join(work, "out/deep/digest");
    await writeDigestFile(p, digest);
    expect(await readFile(p, "utf8")).toBe(digest);
    const q = join(work, "out/names");
    await writeImageNameTagWithDigestFile(q, refs.slice(0, 1), digest);
    expect(await readFile(q, "utf8")).toBe(`127.0.0.1:5000/team/app:1.2@${digest}\n`);
  });
});
