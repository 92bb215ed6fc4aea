import { type Descriptor, MediaType, parseReference, sha256 } from "@molt/oci";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { type FaultProxy, startFaultProxy } from "../../../test/harness/fault-proxy.js";
import { RegistryClient } from "../src/index.js";

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
