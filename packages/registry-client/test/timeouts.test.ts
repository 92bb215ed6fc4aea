import { type Descriptor, MediaType, parseReference, sha256 } from "@molt/oci";
import { afterEach, describe, expect, inject, it } from "vitest";
import { type FaultProxy, startFaultProxy } from "../../../test/harness/fault-proxy.js";
import { RegistryClient, type RegistryClientOptions, RegistryTimeoutError } from "../src/index.js";

// Issue 15 item 3: a stalled registry must not block a build for ~25 minutes. Real registry
// behind the fault proxy; short timeouts so each case takes about a second.

const registry = inject("registry");
let proxy: FaultProxy | undefined;

afterEach(async () => {
  await proxy?.stop();
  proxy = undefined;
});

function client(host: string, opts: RegistryClientOptions): RegistryClient {
  return new RegistryClient({
    insecure: [host],
    noCredentialChain: true,
    proxy: false,
    retry: { retries: 2, minDelayMs: 20, maxDelayMs: 40 },
    ...opts,
  });
}

async function failure<T>(p: Promise<T>): Promise<{ err: unknown; ms: number }> {
  const t0 = Date.now();
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  return { err, ms: Date.now() - t0 };
}

describe("a stalled registry times out", () => {
  it("a request the registry never answers: idle timeout, retried with backoff, then one clear line", async () => {
    proxy = await startFaultProxy(registry, (req) =>
      req.url?.includes("/manifests/") ? { kind: "stall" } : { kind: "forward" },
    );
    const c = client(proxy.host, { idleTimeoutMs: 300 });
    const ref = parseReference(`${proxy.host}/test/busybox:latest`);
    const { err, ms } = await failure(c.getManifest(ref));
    await c.close();
    expect(err).toBeInstanceOf(RegistryTimeoutError);
    expect(err).toMatchObject({
      code: "MOLT_REGISTRY_TIMEOUT",
      kind: "idle",
      timeoutMs: 300,
      registry: proxy.host,
    });
    expect((err as Error).message).toBe(
      `get manifest ${proxy.host}/test/busybox:latest: registry ${proxy.host} sent or took no bytes for 0.3 s (idle timeout) (gave up after 3 attempts)`,
    );
    expect(proxy.seen.filter((r) => r.url.includes("/manifests/")).length).toBe(3);
    expect(ms).toBeGreaterThanOrEqual(900);
    expect(ms).toBeLessThan(5_000);
  });

  it("a blob download that stalls mid-body resumes with Range and completes", async () => {
    const c0 = client(registry, {});
    const ref0 = parseReference(`${registry}/timeouts/blob`);
    const bytes = Buffer.alloc(512 * 1024, 7);
    for (let i = 0; i < bytes.length; i += 997) bytes[i] = i % 251;
    const desc: Descriptor = { mediaType: MediaType.OciLayer, digest: sha256(bytes), size: bytes.length };
    await c0.pushBlob(ref0, desc, () => bytes);
    await c0.close();
    let stalled = false;
    proxy = await startFaultProxy(registry, (req) => {
      if (req.url?.includes("/blobs/sha256:") && req.method === "GET" && !stalled) {
        stalled = true;
        return { kind: "stall", afterBytes: 100_000 };
      }
      return { kind: "forward" };
    });
    const c = client(proxy.host, { idleTimeoutMs: 300 });
    const stream = await c.fetchBlob(parseReference(`${proxy.host}/timeouts/blob`), desc);
    const chunks: Buffer[] = [];
    for await (const b of stream) chunks.push(b as Buffer);
    await c.close();
    expect(sha256(Buffer.concat(chunks))).toBe(desc.digest);
    const gets = proxy.seen.filter((r) => r.method === "GET" && r.url.includes("/blobs/sha256:"));
    expect(gets.length).toBe(2);
    expect(gets[1]?.headers.range).toMatch(/^bytes=\d+-$/);
  });

  it("an upload the registry stops reading: idle timeout names the upload", async () => {
    proxy = await startFaultProxy(registry, (req) =>
      req.method === "PUT" && req.url?.includes("/blobs/uploads/") ? { kind: "stall" } : { kind: "forward" },
    );
    const c = client(proxy.host, { idleTimeoutMs: 400, retry: { retries: 0 } });
    const bytes = Buffer.alloc(32 * 1024 * 1024, 1);
    bytes.write(`unique ${Math.random()}`);
    const desc: Descriptor = { mediaType: MediaType.OciLayer, digest: sha256(bytes), size: bytes.length };
    const { err, ms } = await failure(
      c.pushBlob(parseReference(`${proxy.host}/timeouts/up`), desc, () => bytes),
    );
    await c.close();
    expect(err).toMatchObject({ code: "MOLT_REGISTRY_TIMEOUT", kind: "idle" });
    expect((err as Error).message).toMatch(
      new RegExp(
        `^upload blob ${desc.digest} to ${proxy.host}/timeouts/up: registry ${proxy.host} sent or took no bytes for 0.4 s \\(idle timeout\\)`,
      ),
    );
    expect(ms).toBeLessThan(5_000);
  });

  it("a slow trickle: the operation cap fires, is not retried, and says how long", async () => {
    proxy = await startFaultProxy(registry, (req) =>
      req.url?.includes("/blobs/sha256:")
        ? { kind: "trickle", bytes: 64, intervalMs: 100 }
        : { kind: "forward" },
    );
    const direct = client(registry, {});
    const layer = (await direct.resolveImage(parseReference(`${registry}/test/busybox:latest`))).manifest
      .layers[0] as Descriptor;
    await direct.close();
    const c = client(proxy.host, { idleTimeoutMs: 2_000, operationTimeoutMs: 1_000 });
    // The layer (hundreds of KiB) at 640 B/s would take many minutes; no gap reaches 2 s.
    const ref = parseReference(`${proxy.host}/test/busybox:latest`);
    const { err, ms } = await failure(
      (async () => {
        const s = await c.fetchBlob(ref, layer);
        for await (const _ of s) {
          // drain
        }
      })(),
    );
    await c.close();
    expect(err).toMatchObject({ code: "MOLT_REGISTRY_TIMEOUT", kind: "operation", timeoutMs: 1_000 });
    expect((err as Error).message).toMatch(
      new RegExp(
        `^get blob sha256:\\w+ of ${proxy.host}/test/busybox:latest: registry ${proxy.host} did not finish in 1 s \\(operation timeout\\)$`,
      ),
    );
    expect(proxy.seen.filter((r) => r.url.includes("/blobs/sha256:")).length).toBe(1);

    expect(ms).toBeLessThan(3_000);
  });

  it("abort stops a stalled request at once", async () => {
    proxy = await startFaultProxy(registry, () => ({ kind: "stall" }));
    const c = client(proxy.host, { idleTimeoutMs: 60_000 });
    const ctl = new AbortController();
    setTimeout(() => ctl.abort(new Error("stop now")), 200);
    const { err, ms } = await failure(
      c.getManifest(parseReference(`${proxy.host}/test/busybox:latest`), { signal: ctl.signal }),
    );
    await c.close();
    expect((err as Error).message).toBe("stop now");
    expect(ms).toBeLessThan(1_000);
  });
});
