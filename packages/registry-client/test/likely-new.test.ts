import { Readable } from "node:stream";
import { type Descriptor, MediaType, parseReference, sha256 } from "@molt/oci";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { type FaultProxy, startFaultProxy } from "../../../test/harness/fault-proxy.js";
import { RegistryClient } from "../src/index.js";

// The real registry behind a proxy that holds every HEAD answer back for HOLD ms: with
// `likelyNew` the upload's first request must go out while the HEAD is still unanswered.
const HOLD = 400;
const registry = inject("registry");
let proxy: FaultProxy;
let client: RegistryClient;
beforeAll(async () => {
  proxy = await startFaultProxy(registry, (req) =>
    req.method === "HEAD" ? { kind: "delay", ms: HOLD } : { kind: "forward" },
  );
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
/** The requests of one blob push, as `METHOD path` with their arrival times. */
function requestsSince(from: number) {
  return proxy.seen.slice(from).map((s) => ({ line: `${s.method} ${s.url.split("?")[0]}`, at: s.at }));
}

describe("pushBlob with likelyNew", () => {
  it("a new blob: the upload starts while the HEAD is held, and the blob arrives whole", async () => {
    const ref = parseReference(`${proxy.host}/likely/new:1`);
    const { desc, bytes } = blob("new");
    const from = proxy.seen.length;
    expect(await client.pushBlob(ref, desc, () => Readable.from([bytes]), { likelyNew: true })).toBe(
      "uploaded",
    );
    const reqs = requestsSince(from);
    const head = reqs.find((r) => r.line.startsWith("HEAD"))!;
    const post = reqs.find((r) => r.line === "POST /v2/likely/new/blobs/uploads/")!;
    expect(head.line).toBe(`HEAD /v2/likely/new/blobs/${desc.digest}`);
    // Sent before the HEAD could have been answered (it is held HOLD ms).
    expect(Math.abs(post.at - head.at)).toBeLessThan(HOLD / 2);
    expect(reqs.filter((r) => r.line.startsWith("PUT"))).toHaveLength(1);
    expect(reqs.filter((r) => r.line.startsWith("DELETE"))).toHaveLength(0);
    const got = await client.fetchBlob(ref, desc);
    const parts: Buffer[] = [];
    for await (const c of got) parts.push(c as Buffer);
    expect(Buffer.concat(parts).equals(bytes)).toBe(true);
  });

  it("without it, the upload waits for the HEAD's answer", async () => {
    const ref = parseReference(`${proxy.host}/likely/new:1`);
    const { desc, bytes } = blob("plain");
    const from = proxy.seen.length;
    expect(await client.pushBlob(ref, desc, () => bytes)).toBe("uploaded");
    const reqs = requestsSince(from);
    const head = reqs.find((r) => r.line.startsWith("HEAD"))!;
    const post = reqs.find((r) => r.line.startsWith("POST"))!;
    expect(post.at - head.at).toBeGreaterThanOrEqual(HOLD - 20);
  });

  it("a blob that was there all along: `exists`, nothing uploaded, the session opened is cancelled", async () => {
    const ref = parseReference(`${proxy.host}/likely/there:1`);
    const { desc, bytes } = blob("there");
    expect(await client.pushBlob(ref, desc, () => bytes)).toBe("uploaded");
    const from = proxy.seen.length;
    let reads = 0;
    const result = await client.pushBlob(
      ref,
      desc,
      () => {
        reads++;
        return bytes;
      },
      { likelyNew: true },
    );
    expect(result).toBe("exists");
    expect(reads).toBe(0);
    const lines = requestsSince(from).map((r) => r.line);
    expect(lines.filter((l) => l.startsWith("PUT"))).toEqual([]);
    expect(lines.filter((l) => l.startsWith("POST"))).toHaveLength(1);
    expect(lines.filter((l) => l.startsWith("DELETE"))).toEqual([
      expect.stringMatching(/^DELETE \/v2\/likely\/there\/blobs\/uploads\/[\w-]+$/),
    ]);
  });

  it("with a mount source it changes nothing: the HEAD first, then the mount", async () => {
    const src = parseReference(`${proxy.host}/likely/source:1`);
    const dst = parseReference(`${proxy.host}/likely/mounted:1`);
    const { desc, bytes } = blob("mount");
    expect(await client.pushBlob(src, desc, () => bytes)).toBe("uploaded");
    const from = proxy.seen.length;
    expect(await client.pushBlob(dst, desc, () => bytes, { mountFrom: src, likelyNew: true })).toBe(
      "mounted",
    );
    const reqs = requestsSince(from);
    const head = reqs.find((r) => r.line.startsWith("HEAD"))!;
    const post = reqs.find((r) => r.line.startsWith("POST"))!;
    expect(post.at - head.at).toBeGreaterThanOrEqual(HOLD - 20);
    expect(await client.pushBlob(dst, desc, () => bytes, { mountFrom: src, likelyNew: true })).toBe("exists");
  });
});
