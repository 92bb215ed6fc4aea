import { createHash } from "node:crypto";
import { Readable } from "node:stream";
import {
  BlobSizeMismatchError,
  type Descriptor,
  DigestMismatchError,
  type Manifest,
  MediaType,
  parseReference,
  serialize,
  sha256,
} from "@molt/oci";
import { afterAll, describe, expect, inject, it } from "vitest";
import { RegistryClient, RegistryError, type RegistryProgressEvent } from "../src/index.js";

const host = inject("registry");
const client = new RegistryClient({
  insecure: [host],
  noCredentialChain: true,
  retry: { retries: 1, minDelayMs: 10 },
});
afterAll(() => client.close());

async function collect(r: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of r) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

describe("anonymous pull from the real registry", () => {
  it("fetches test/busybox:latest and verifies its digest", async () => {
    const ref = parseReference(`${host}/test/busybox:latest`);
    const m = await client.getManifest(ref);
    expect(m.mediaType).toBe(MediaType.OciManifest);
    expect(m.digest).toBe(`sha256:${createHash("sha256").update(m.bytes).digest("hex")}`);
    const byDigest = await client.getManifest({ ...ref, digest: m.digest });
    expect(byDigest.bytes.equals(m.bytes)).toBe(true);
  });

  it("selects each platform of test/busybox:multi", async () => {
    const ref = parseReference(`${host}/test/busybox:multi`);
    const index = await client.getManifest(ref);
    expect(index.mediaType).toBe(MediaType.OciIndex);
    const entries = (JSON.parse(index.bytes.toString()) as { manifests: Descriptor[] }).manifests;
    const arm = await client.resolveImage(ref, {
      platform: { os: "linux", architecture: "arm64", variant: "v8" },
    });
    expect(arm.config.architecture).toBe("arm64");
    expect(arm.indexDigest).toBe(index.digest);
    expect(arm.manifestDigest).toBe(entries.find((e) => e.platform?.architecture === "arm64")?.digest);
    const amd = await client.resolveImage(ref, { platform: { os: "linux", architecture: "amd64" } });
    expect(amd.config.architecture).toBe("amd64");
    expect(amd.manifestDigest).toBe(entries.find((e) => e.platform?.architecture === "amd64")?.digest);
    // arm64 without a variant means v8
    const arm2 = await client.resolveImage(ref, { platform: { os: "linux", architecture: "arm64" } });
    expect(arm2.manifestDigest).toBe(arm.manifestDigest);
    await expect(
      client.resolveImage(ref, { platform: { os: "linux", architecture: "arm", variant: "v7" } }),
    ).rejects.toMatchObject({
      code: "MOLT_PLATFORM_NOT_FOUND",
      available: ["linux/arm64/v8", "linux/amd64"],
    });
  });

  it("streams a layer whose bytes hash to its digest", async () => {
    const ref = parseReference(`${host}/test/busybox:latest`);
    const img = await client.resolveImage(ref);
    const layer = img.manifest.layers[0]!;
    const events: number[] = [];
    const stream = await client.fetchBlob(ref, layer, {
      onProgress: (e) => {
        if (e.type === "molt:registry:blob-progress") events.push(e.transferred);
      },
    });
    const bytes = await collect(stream);
    expect(bytes.length).toBe(layer.size);
    expect(sha256(bytes)).toBe(layer.digest);
    expect(events.at(-1)).toBe(layer.size);
    expect(await client.hasBlob(ref, layer.digest)).toBe(true);
  });

  it("rejects a blob shorter than its descriptor says", async () => {
    const ref = parseReference(`${host}/test/busybox:latest`);
    const img = await client.resolveImage(ref);
    const layer = img.manifest.layers[0]!;
    const lying: Descriptor = { ...layer, size: layer.size + 1 };
    const err = await client
      .fetchBlob(ref, lying)
      .then(collect)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BlobSizeMismatchError);
    expect(err).toMatchObject({
      code: "MOLT_BLOB_SIZE_MISMATCH",
      expected: layer.size + 1,
      actual: layer.size,
    });
    expect((err as Error).message).toBe(
      `blob of ${host}/test/busybox:latest ${layer.digest}: received ${layer.size} bytes, but its descriptor announces ${layer.size + 1}`,
    );
  });

  it("rejects a blob longer than its descriptor says, saying so", async () => {
    const ref = parseReference(`${host}/test/busybox:latest`);
    const img = await client.resolveImage(ref);
    const layer = img.manifest.layers[0]!;
    const lying: Descriptor = { ...layer, size: 115 };
    const err = await client
      .fetchBlob(ref, lying)
      .then(collect)
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "MOLT_BLOB_SIZE_MISMATCH", expected: 115 });
    expect((err as Error).message).toBe(
      `blob of ${host}/test/busybox:latest ${layer.digest}: received more than the 115 bytes its descriptor announces`,
    );
  });

  it("names the reference when the image is missing", async () => {
    const ref = parseReference(`${host}/test/busybox:nope`);
    const err = await client.getManifest(ref).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RegistryError);
    expect(err).toMatchObject({
      registryCode: "MANIFEST_UNKNOWN",
      status: 404,
      registry: host,
      retryable: false,
    });
    expect((err as Error).message).toContain(`${host}/test/busybox:nope`);
    const missingRepo = await client
      .getManifest(parseReference(`${host}/no/such:thing`))
      .catch((e: unknown) => e);
    // distribution 2.8 answers MANIFEST_UNKNOWN for a missing repository; others say NAME_UNKNOWN
    expect(["NAME_UNKNOWN", "MANIFEST_UNKNOWN"]).toContain((missingRepo as RegistryError).registryCode);
    expect(missingRepo).toMatchObject({ code: "MOLT_REGISTRY_NOT_FOUND", repository: "no/such" });
  });

  it("refuses a manifest larger than the configured limit", async () => {
    const small = new RegistryClient({ insecure: [host], noCredentialChain: true, maxManifestBytes: 100 });
    const err = await small
      .getManifest(parseReference(`${host}/test/busybox:latest`))
      .catch((e: unknown) => e);
    await small.close();
    expect(err).toMatchObject({ code: "MOLT_REGISTRY_PROTOCOL", registry: host });
    expect((err as Error).message).toBe(
      `get manifest ${host}/test/busybox:latest: larger than the 100-byte limit`,
    );
  });

  it("gives one clear line when the registry is unreachable", async () => {
    const dead = new RegistryClient({
      insecure: ["127.0.0.1:1"],
      noCredentialChain: true,
      retry: { retries: 1, minDelayMs: 5 },
    });
    const err = await dead.getManifest(parseReference("127.0.0.1:1/a/b:c")).catch((e: unknown) => e);
    await dead.close();
    expect(err).toMatchObject({
      code: "MOLT_REGISTRY_UNREACHABLE",
      registry: "127.0.0.1:1",
      retryable: true,
    });
    expect((err as Error).message).toBe(
      "get manifest 127.0.0.1:1/a/b:c: cannot reach registry 127.0.0.1:1: connection refused (ECONNREFUSED) (gave up after 2 attempts)",
    );
  });
});

describe("push to the real registry", () => {
  it("pushes blobs and a manifest, then pulls them back; re-push says exists; mount says mounted", async () => {
    const repo = `push/t${Date.now()}`;
    const ref = parseReference(`${host}/${repo}:v1`);
    const layerBytes = Buffer.from(`layer ${Math.random()}`.repeat(1000));
    const layer: Descriptor = {
      mediaType: MediaType.OciLayer,
      digest: sha256(layerBytes),
      size: layerBytes.length,
    };
    const configBytes = serialize({
      architecture: "amd64",
      os: "linux",
      rootfs: { type: "layers", diff_ids: [layer.digest] },
    });
    const config: Descriptor = {
      mediaType: MediaType.OciConfig,
      digest: sha256(configBytes),
      size: configBytes.length,
    };
    expect(await client.hasBlob(ref, layer.digest)).toBe(false);
    expect(await client.pushBlob(ref, layer, () => Readable.from([layerBytes]))).toBe("uploaded");
    expect(await client.pushBlob(ref, config, () => configBytes, { mode: "chunked", chunkSize: 100 })).toBe(
      "uploaded",
    );
    expect(await client.pushBlob(ref, layer, () => layerBytes)).toBe("exists");
    const manifest: Manifest = {
      schemaVersion: 2,
      mediaType: MediaType.OciManifest,
      config,
      layers: [layer],
    };
    const mBytes = serialize(manifest);
    const digest = await client.putManifest(ref, mBytes, MediaType.OciManifest);
    expect(digest).toBe(sha256(mBytes));
    const back = await client.resolveImage(ref);
    expect(back.manifestBytes.equals(mBytes)).toBe(true);
    expect(back.configBytes.equals(configBytes)).toBe(true);
    expect(await collect(await client.fetchBlob(ref, layer))).toEqual(layerBytes);

    const other = parseReference(`${host}/${repo}-copy:v1`);
    expect(await client.pushBlob(other, layer, () => layerBytes, { mountFrom: ref })).toBe("mounted");
    expect(await client.hasBlob(other, layer.digest)).toBe(true);
  });

  it("reports upload progress up to the blob's size", async () => {
    const ref = parseReference(`${host}/push/progress${Date.now()}`);
    const bytes = Buffer.alloc(3 * 1024 * 1024 + 17, 7);
    const desc: Descriptor = { mediaType: MediaType.OciLayer, digest: sha256(bytes), size: bytes.length };
    const seen: RegistryProgressEvent[] = [];
    const chunks = [bytes.subarray(0, 1 << 20), bytes.subarray(1 << 20, 2 << 20), bytes.subarray(2 << 20)];
    await client.pushBlob(ref, desc, () => Readable.from(chunks), { onProgress: (e) => seen.push(e) });
    const progress = seen.filter((e) => e.type === "molt:registry:blob-progress").map((e) => e.transferred);
    expect(progress.at(-1)).toBe(bytes.length);
    expect([...progress].sort((a, b) => a - b)).toEqual(progress);
    expect(seen.at(-1)).toMatchObject({
      type: "molt:registry:blob-done",
      direction: "push",
      result: "uploaded",
      size: bytes.length,
    });
  });

  it("stops a download promptly when aborted, with the abort reason", async () => {
    const ref = parseReference(`${host}/test/busybox:latest`);
    const layer = (await client.resolveImage(ref)).manifest.layers[0]!;
    const ac = new AbortController();
    const stream = await client.fetchBlob(ref, layer, { signal: ac.signal });
    let got = 0;
    const err = await (async () => {
      for await (const c of stream) {
        got += (c as Buffer).length;
        ac.abort(new Error("user cancelled"));
      }
    })().catch((e: unknown) => e);
    expect((err as Error).message).toBe("user cancelled");
    expect(got).toBeLessThan(layer.size);
    await expect(
      client.getManifest(ref, { signal: AbortSignal.abort(new Error("before start")) }),
    ).rejects.toThrow("before start");
  });

  it("lists tags across pages", async () => {
    const ref = parseReference(`${host}/test/busybox`);
    expect(await client.listTags(ref, { pageSize: 1 })).toEqual(["latest", "multi"]);
  });

  it("refuses a stream whose length is not the descriptor's size, without retrying", async () => {
    const ref = parseReference(`${host}/push/short${Date.now()}`);
    const bytes = Buffer.from("twelve bytes");
    const desc: Descriptor = { mediaType: MediaType.OciLayer, digest: sha256(bytes), size: bytes.length + 5 };
    let calls = 0;
    const err = await client
      .pushBlob(ref, desc, () => {
        calls++;
        return Readable.from([bytes]);
      })
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "MOLT_REGISTRY_PROTOCOL", retryable: false });
    expect(calls).toBe(1);
  });

  it("refuses a manifest put by a digest that does not match", async () => {
    const ref = parseReference(`${host}/push/x@${sha256("other")}`);
    await expect(client.putManifest(ref, Buffer.from("{}"), MediaType.OciManifest)).rejects.toBeInstanceOf(
      DigestMismatchError,
    );
  });
});
