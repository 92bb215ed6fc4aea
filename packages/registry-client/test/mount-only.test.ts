import { type Descriptor, MediaType, parseReference, sha256 } from "@molt/oci";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { type FaultProxy, startFaultProxy } from "../../../test/harness/fault-proxy.js";
import { RegistryClient, RegistryNotFoundError } from "../src/index.js";

// The real registry behind a recording proxy (everything forwarded), to see which requests a
// push makes and on which connections.
const registry = inject("registry");
let proxy: FaultProxy;
let client: RegistryClient;
beforeAll(async () => {
  proxy = await startFaultProxy(registry);
  client = new RegistryClient({ insecure: [proxy.host], noCredentialChain: true, retry: { retries: 0 } });
});
afterAll(async () => {
  await client.close();
  await proxy.stop();
});

function blob(text: string): { desc: Descriptor; bytes: Buffer } {
  const bytes = Buffer.from(`${text} ${process.pid} ${Date.now()} ${Math.random()}\n`);
  return { desc: { mediaType: MediaType.OciLayerGzip, digest: sha256(bytes), size: bytes.length }, bytes };
}
function linesSince(from: number): string[] {
  return proxy.seen.slice(from).map((s) => `${s.method} ${s.url.split("?")[0]}`);
}

describe("pushBlob with mountOnly", () => {
  it("a blob in neither repository: BLOB_UNKNOWN, the bytes never asked for, the mount's session cancelled", async () => {
    const dest = parseReference(`${proxy.host}/mountonly/dest:1`);
    const src = parseReference(`${proxy.host}/mountonly/src:1`);
    const { desc } = blob("nowhere");
    const from = proxy.seen.length;
    let reads = 0;
    const err = await client
      .pushBlob(
        dest,
        desc,
        () => {
          reads++;
          return Buffer.alloc(desc.size);
        },
        { mountFrom: src, mountOnly: true },
      )
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RegistryNotFoundError);
    expect((err as RegistryNotFoundError).registryCode).toBe("BLOB_UNKNOWN");
    expect((err as Error).message).toContain(`mountonly/src has no such blob`);
    expect(reads).toBe(0);
    const lines = linesSince(from);
    expect(lines[0]).toBe(`HEAD /v2/mountonly/dest/blobs/${desc.digest}`);
    expect(lines[1]).toBe("POST /v2/mountonly/dest/blobs/uploads/");
    expect(lines[2]).toMatch(/^DELETE \/v2\/mountonly\/dest\/blobs\/uploads\/[0-9a-f-]+$/);
    expect(lines.filter((l) => l.startsWith("PUT") || l.startsWith("PATCH"))).toEqual([]);
    expect(await client.hasBlob(dest, desc.digest)).toBe(false);
  });

  it("a blob in the source is mounted, and one already in the destination exists; neither reads the bytes", async () => {
    const dest = parseReference(`${proxy.host}/mountonly/dest2:1`);
    const src = parseReference(`${proxy.host}/mountonly/src2:1`);
    const { desc, bytes } = blob("there");
    await client.pushBlob(src, desc, () => bytes);
    const never = () => {
      throw new Error("the bytes were asked for");
    };
    expect(await client.pushBlob(dest, desc, never, { mountFrom: src, mountOnly: true })).toBe("mounted");
    expect(await client.pushBlob(dest, desc, never, { mountFrom: src, mountOnly: true })).toBe("exists");
    expect(await client.hasBlob(dest, desc.digest)).toBe(true);
  });

  it("without a repository to mount from, a missing blob is BLOB_UNKNOWN after the HEAD alone", async () => {
    const dest = parseReference(`${proxy.host}/mountonly/dest3:1`);
    const { desc, bytes } = blob("alone");
    const from = proxy.seen.length;
    const err = await client
      .pushBlob(dest, desc, () => bytes, { mountOnly: true, likelyNew: true, skipExistsCheck: true })
      .catch((e: unknown) => e);
    expect((err as RegistryNotFoundError).registryCode).toBe("BLOB_UNKNOWN");
    expect(linesSince(from)).toEqual([`HEAD /v2/mountonly/dest3/blobs/${desc.digest}`]);
  });
});

describe("HEAD requests", () => {
  it("keep their connection: undici's default closes it after every HEAD", async () => {
    const repo = parseReference(`${proxy.host}/mountonly/heads:1`);
    const { desc, bytes } = blob("heads");
    await client.pushBlob(repo, desc, () => bytes);
    const from = proxy.seen.length;
    for (let i = 0; i < 5; i++) expect(await client.hasBlob(repo, desc.digest)).toBe(true);
    const seen = proxy.seen.slice(from);
    expect(seen.map((s) => s.method)).toEqual(["HEAD", "HEAD", "HEAD", "HEAD", "HEAD"]);
    // The pool takes turns between the idle connections it has (the push left two); with the
    // connection closed after each HEAD, every one came on a new connection (five).
    expect(new Set(seen.map((s) => s.connection)).size).toBeLessThanOrEqual(2);
  });
});
