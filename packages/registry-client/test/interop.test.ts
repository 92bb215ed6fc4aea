import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { promisify } from "node:util";
import { type Descriptor, MediaType, parseReference, sha256 } from "@molt/oci";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { busyboxLayout } from "../../../test/harness/base-images.js";
import { type FaultProxy, startFaultProxy } from "../../../test/harness/fault-proxy.js";
import { type RunningRegistry, requireBinary, startRegistry } from "../../../test/harness/registry.js";
import { copyImage, pullOciLayout, pushOciLayout, RegistryClient } from "../src/index.js";

const exec = promisify(execFile);
const registry = inject("registry");
let dir: string;
let second: RunningRegistry;
let client: RegistryClient;

const skopeo = async (...args: string[]) =>
  (await exec("skopeo", args, { maxBuffer: 64 * 1024 * 1024 })).stdout;

beforeAll(async () => {
  requireBinary("skopeo", "Debian package skopeo");
  dir = await mkdtemp(join(tmpdir(), "molt-rc-interop-"));
  second = await startRegistry();
  client = new RegistryClient({ insecure: [registry, second.host], noCredentialChain: true, proxy: false });
});

afterAll(async () => {
  await client?.close();
  await second?.stop();
  await rm(dir, { recursive: true, force: true });
});

/** Every blob of an OCI layout: digest → bytes. */
async function blobsOf(layout: string): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  for (const hex of await readdir(join(layout, "blobs", "sha256"))) {
    if (hex.endsWith(".tmp")) continue;
    out.set(`sha256:${hex}`, await readFile(join(layout, "blobs", "sha256", hex)));
  }
  return out;
}

describe("interoperability with skopeo", () => {
  it("pulls what skopeo pushed bit for bit, matching skopeo's own pull", async () => {
    const ours = join(dir, "ours");
    const theirs = join(dir, "theirs");
    await pullOciLayout(client, parseReference(`${registry}/test/busybox:multi`), ours, "multi");
    await skopeo(
      "copy",
      "--quiet",
      "--all",
      "--src-tls-verify=false",
      `docker://${registry}/test/busybox:multi`,
      `oci:${theirs}:multi`,
    );
    const a = await blobsOf(ours);
    const b = await blobsOf(theirs);
    expect([...a.keys()].sort()).toEqual([...b.keys()].sort());
    for (const [digest, bytes] of a) {
      expect(sha256(bytes)).toBe(digest);
      expect(bytes.equals(b.get(digest)!)).toBe(true);
    }
    const ourIndex = JSON.parse(await readFile(join(ours, "index.json"), "utf8"));
    const theirIndex = JSON.parse(await readFile(join(theirs, "index.json"), "utf8"));
    expect(ourIndex.manifests[0].digest).toBe(theirIndex.manifests[0].digest);
  });

  it("pushes an OCI layout that skopeo reads back unchanged", async () => {
    const layout = await busyboxLayout();
    const dst = parseReference(`${second.host}/pushed/busybox:multi`);
    const digest = await pushOciLayout(client, layout, "multi", dst);
    const raw = await skopeo(
      "inspect",
      "--raw",
      "--tls-verify=false",
      `docker://${second.host}/pushed/busybox:multi`,
    );
    const source = (await blobsOf(layout)).get(digest)!;
    expect(raw).toBe(source.toString("utf8"));
    const info = JSON.parse(
      await skopeo(
        "inspect",
        "--tls-verify=false",
        "--override-arch",
        "arm64",
        `docker://${second.host}/pushed/busybox:multi`,
      ),
    );
    expect(info.Architecture).toBe("arm64");
    const copied = join(dir, "skopeo-from-ours");
    await skopeo(
      "copy",
      "--quiet",
      "--all",
      "--src-tls-verify=false",
      `docker://${second.host}/pushed/busybox:multi`,
      `oci:${copied}:x`,
    );
    const src = await blobsOf(layout);
    for (const [d, bytes] of await blobsOf(copied)) expect(bytes.equals(src.get(d)!)).toBe(true);
  });

  it("copies a multi-platform image between registries, keeping every digest", async () => {
    const src = parseReference(`${registry}/test/busybox:multi`);
    const dst = parseReference(`${second.host}/copied/busybox:multi`);
    const digest = await copyImage(client, src, dst);
    expect(digest).toBe((await client.getManifest(src)).digest);
    const raw = await skopeo(
      "inspect",
      "--raw",
      "--tls-verify=false",
      `docker://${second.host}/copied/busybox:multi`,
    );
    expect(sha256(raw)).toBe(digest);
    const arm = await client.resolveImage(dst, {
      platform: { os: "linux", architecture: "arm64", variant: "v8" },
    });
    expect(arm.config.architecture).toBe("arm64");
  });
});

describe("upload modes, observed on the wire", () => {
  let proxy: FaultProxy;
  beforeAll(async () => {
    proxy = await startFaultProxy(registry);
  });
  afterAll(() => proxy.stop());

  const data = randomBytes(300_000);
  const desc: Descriptor = { mediaType: MediaType.OciLayer, digest: sha256(data), size: data.length };

  it("monolithic: one PUT with the whole blob, no PATCH", async () => {
    const c = new RegistryClient({ insecure: [proxy.host], noCredentialChain: true });
    const before = proxy.seen.length;
    const ref = parseReference(`${proxy.host}/modes/mono`);
    expect(
      await c.pushBlob(ref, desc, () => Readable.from([data.subarray(0, 100_000), data.subarray(100_000)])),
    ).toBe("uploaded");
    await c.close();
    const wire = proxy.seen.slice(before);
    expect(wire.map((r) => r.method)).toEqual(["HEAD", "POST", "PUT"]);
    expect(wire[2]!.headers["content-length"]).toBe(String(data.length));
    expect(wire[2]!.url).toContain(`digest=${encodeURIComponent(desc.digest)}`);
  });

  it("chunked: PATCHes with Content-Range, honouring OCI-Chunk-Min-Length, then an empty PUT", async () => {
    proxy.setRule((req) =>
      req.method === "POST"
        ? { kind: "forward", addHeaders: { "oci-chunk-min-length": "131072" } }
        : { kind: "forward" },
    );
    const c = new RegistryClient({
      insecure: [proxy.host],
      noCredentialChain: true,
      upload: { mode: "chunked", chunkSize: 1000 },
    });
    const before = proxy.seen.length;
    const ref = parseReference(`${proxy.host}/modes/chunked`);
    expect(await c.pushBlob(ref, desc, () => Readable.from([data]))).toBe("uploaded");
    await c.close();
    proxy.setRule(() => ({ kind: "forward" }));
    const wire = proxy.seen.slice(before);
    expect(wire.map((r) => r.method)).toEqual(["HEAD", "POST", "PATCH", "PATCH", "PATCH", "PUT"]);
    expect(wire.filter((r) => r.method === "PATCH").map((r) => r.headers["content-range"])).toEqual([
      "0-131071",
      "131072-262143",
      "262144-299999",
    ]);
    expect(wire[5]!.headers["content-length"]).toBe("0");
    const back: Buffer[] = [];
    for await (const chunk of await client.fetchBlob(parseReference(`${registry}/modes/chunked`), desc))
      back.push(chunk as Buffer);
    expect(Buffer.concat(back).equals(data)).toBe(true);
  });

  it("streamed: digest computed while sending one PATCH without Content-Range", async () => {
    const c = new RegistryClient({ insecure: [proxy.host], noCredentialChain: true });
    const before = proxy.seen.length;
    const ref = parseReference(`${proxy.host}/modes/streamed`);
    const more = randomBytes(200_000);
    const got = await c.pushBlobStream(
      ref,
      () => Readable.from([more.subarray(0, 5), more.subarray(5)]),
      MediaType.OciLayer,
    );
    await c.close();
    expect(got).toEqual({ mediaType: MediaType.OciLayer, digest: sha256(more), size: more.length });
    const wire = proxy.seen.slice(before);
    expect(wire.map((r) => r.method)).toEqual(["POST", "PATCH", "PUT"]);
    expect(wire[1]!.headers["content-range"]).toBeUndefined();
    expect(await client.hasBlob(parseReference(`${registry}/modes/streamed`), got.digest)).toBe(true);
  });
});
