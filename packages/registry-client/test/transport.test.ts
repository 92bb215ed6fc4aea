import { execFileSync } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { type Descriptor, DigestMismatchError, MediaType, parseReference, sha256 } from "@molt/oci";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { type FaultProxy, startFaultProxy, startStorageHost } from "../../../test/harness/fault-proxy.js";
import { type RunningRegistry, startRegistry } from "../../../test/harness/registry.js";
import { makeTestPki, type TestPki } from "../../../test/harness/tls.js";
import { RegistryClient, type RegistryClientOptions, type RegistryProgressEvent } from "../src/index.js";

const registry = inject("registry");
let dir: string;
let pki: TestPki;
let tlsReg: RunningRegistry;
let basicReg: RunningRegistry;
const fast = { retries: 3, minDelayMs: 5, maxDelayMs: 20 };

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "molt-rc-transport-"));
  pki = await makeTestPki(dir);
  await writeFile(
    join(dir, "htpasswd"),
    execFileSync("htpasswd", ["-Bbn", "carol", "carol-pass-1"], { encoding: "utf8" }),
  );
  [tlsReg, basicReg] = await Promise.all([
    startRegistry({ tls: { certificate: pki.serverCertFile, key: pki.serverKeyFile } }),
    startRegistry({ authYaml: `  htpasswd:\n    realm: molt-test\n    path: ${join(dir, "htpasswd")}` }),
  ]);
});

afterAll(async () => {
  await Promise.all([tlsReg?.stop(), basicReg?.stop()]);
  await rm(dir, { recursive: true, force: true });
});

async function collect(r: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of r) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

function make(opts: RegistryClientOptions): RegistryClient {
  return new RegistryClient({ noCredentialChain: true, proxy: false, ...opts });
}

const busybox = (host: string) => parseReference(`${host}/test/busybox:latest`);

describe("TLS with a CA generated for the test", () => {
  it("is refused without the CA, with a one-line TLS error", async () => {
    const c = make({ retry: fast });
    const err = await c.getManifest(parseReference(`${tlsReg.host}/x/y:z`)).catch((e: unknown) => e);
    await c.close();
    expect(err).toMatchObject({ code: "MOLT_REGISTRY_TLS", registry: tlsReg.host, retryable: false });
    expect((err as Error).message).toMatch(
      new RegExp(`^get manifest ${tlsReg.host}/x/y:z: TLS error talking to registry ${tlsReg.host}: \\S+`),
    );
    expect((err as Error).message).not.toContain("\n");
  });

  it("is accepted with the CA, and with verification skipped", async () => {
    for (const opts of [{ tls: { [tlsReg.host]: { ca: pki.caCert } } }, { skipTlsVerify: [tlsReg.host] }]) {
      const c = make({ retry: fast, ...opts });
      const ref = parseReference(`${tlsReg.host}/tls/repo`);
      const bytes = Buffer.from(`over TLS ${Math.random()}`);
      const desc: Descriptor = { mediaType: MediaType.OciLayer, digest: sha256(bytes), size: bytes.length };
      expect(["uploaded", "exists"]).toContain(await c.pushBlob(ref, desc, () => bytes));
      expect(await collect(await c.fetchBlob(ref, desc))).toEqual(bytes);
      await c.close();
    }
  });

  it("presents a client certificate to a host that requires one", async () => {
    // A TLS front that demands a client certificate signed by the test CA, forwarding to the real registry.
    const front = await startFaultProxy(registry, undefined, {
      tls: {
        cert: execFileSync("cat", [pki.serverCertFile], { encoding: "utf8" }),
        key: execFileSync("cat", [pki.serverKeyFile], { encoding: "utf8" }),
        clientCa: pki.caCert,
      },
    });
    try {
      const without = make({ retry: { retries: 0 }, tls: { [front.host]: { ca: pki.caCert } } });
      const err = await without.getManifest(busybox(front.host)).catch((e: unknown) => e);
      await without.close();
      // TLS 1.3: the server rejects the missing certificate after the handshake by closing the connection
      expect(err).toMatchObject({ code: "MOLT_REGISTRY_UNREACHABLE", registry: front.host });
      const withCert = make({
        retry: fast,
        tls: { [front.host]: { ca: pki.caCert, cert: pki.clientCert, key: pki.clientKey } },
      });
      const m = await withCert.getManifest(busybox(front.host));
      await withCert.close();
      expect(m.mediaType).toBe(MediaType.OciManifest);
    } finally {
      await front.stop();
    }
  });
});

describe("faults between client and registry", () => {
  let proxy: FaultProxy;
  beforeAll(async () => {
    proxy = await startFaultProxy(registry);
  });
  afterAll(() => proxy.stop());

  it("recovers from a dropped connection, a 500 and a 429 with Retry-After", async () => {
    proxy.setRule((_req, n) =>
      n === 0
        ? { kind: "drop" }
        : n === 1
          ? { kind: "status", status: 500, body: '{"errors":[{"code":"UNKNOWN","message":"boom"}]}' }
          : n === 2
            ? {
                kind: "status",
                status: 429,
                headers: { "retry-after": "0" },
                body: '{"errors":[{"code":"TOOMANYREQUESTS"}]}',
              }
            : { kind: "forward" },
    );
    const before = proxy.seen.length;
    const c = make({ insecure: [proxy.host], retry: fast });
    const img = await c.resolveImage(busybox(proxy.host));
    const m = await c.getManifest(busybox(proxy.host));
    await c.close();
    expect(img.config.architecture).toBe("amd64");
    expect(m.digest).toBe(img.manifestDigest);
    // the first manifest GET was tried four times: dropped, 500, 429, then forwarded
    expect(proxy.seen.slice(before, before + 4).map((r) => r.url)).toEqual(
      Array(4).fill("/v2/test/busybox/manifests/latest"),
    );
  });

  it("reports retries as progress events", async () => {
    proxy.setRule((_req, n) => (n < 2 ? { kind: "status", status: 503 } : { kind: "forward" }));
    const c = make({ insecure: [proxy.host], retry: fast });
    const events: RegistryProgressEvent[] = [];
    const layer = (await c.resolveImage(busybox(proxy.host))).manifest.layers[0]!;
    proxy.setRule((_req, n) => (n < 2 ? { kind: "status", status: 502 } : { kind: "forward" }));
    const bytes = await collect(
      await c.fetchBlob(busybox(proxy.host), layer, { onProgress: (e) => events.push(e) }),
    );
    await c.close();
    expect(sha256(bytes)).toBe(layer.digest);
    expect(
      events.filter((e) => e.type === "molt:registry:retry").map((e) => (e as { attempt: number }).attempt),
    ).toEqual([1, 2]);
  });

  it("a call's own onProgress gets its retries (resolveImage: the manifest's and the config's)", async () => {
    const call: RegistryProgressEvent[] = [];
    const c = make({ insecure: [proxy.host], retry: fast });
    // The first manifest GET fails once; then the config blob GET fails once.
    let failedConfig = false;
    proxy.setRule((req, n) => {
      if (n === 0) return { kind: "status", status: 503 };
      if (!failedConfig && /\/blobs\//.test(req.url ?? "")) {
        failedConfig = true;
        return { kind: "status", status: 502 };
      }
      return { kind: "forward" };
    });
    const img = await c.resolveImage(busybox(proxy.host), { onProgress: (e) => call.push(e) });
    await c.close();
    expect(img.config.architecture).toBe("amd64");
    expect(failedConfig).toBe(true);
    const retries = call.filter((e) => e.type === "molt:registry:retry");
    expect(retries).toHaveLength(2);
    expect(retries.map((e) => (e as { attempt: number }).attempt)).toEqual([1, 1]);
    // Only retries reach the call: the config's bytes are part of resolving, not a transfer to show.
    expect(call.every((e) => e.type === "molt:registry:retry")).toBe(true);
  });

  it("gives up with a clear error when the registry never recovers", async () => {
    proxy.setRule(() => ({
      kind: "status",
      status: 503,
      body: '{"errors":[{"code":"UNAVAILABLE","message":"down"}]}',
    }));
    const c = make({ insecure: [proxy.host], retry: fast });
    const err = await c.getManifest(busybox(proxy.host)).catch((e: unknown) => e);
    await c.close();
    expect(err).toMatchObject({
      status: 503,
      registryCode: "UNAVAILABLE",
      retryable: true,
      registry: proxy.host,
    });
    expect((err as Error).message).toBe(
      `get manifest ${proxy.host}/test/busybox:latest: UNAVAILABLE: down (HTTP 503) (gave up after 4 attempts)`,
    );
    expect(proxy.seen.slice(-4).every((r) => r.url === "/v2/test/busybox/manifests/latest")).toBe(true);
  });

  it("does not wait for a Retry-After longer than allowed", async () => {
    proxy.setRule(() => ({ kind: "status", status: 429, headers: { "retry-after": "3600" } }));
    const c = make({ insecure: [proxy.host], retry: { ...fast, maxRetryAfterMs: 1000 } });
    const err = await c.getManifest(busybox(proxy.host)).catch((e: unknown) => e);
    await c.close();
    expect(err).toMatchObject({ code: "MOLT_REGISTRY_TOO_MANY_REQUESTS", retryAfterMs: 3_600_000 });
    expect((err as Error).message).toContain("asked to retry after 3600 s");
  });

  it("resumes a blob download cut mid-way with a Range request", async () => {
    proxy.setRule(() => ({ kind: "forward" }));
    const c = make({ insecure: [proxy.host], retry: fast });
    const layer = (await c.resolveImage(busybox(proxy.host))).manifest.layers[0]!;
    proxy.setRule((req, n) =>
      n === 0 && req.url?.includes("/blobs/") ? { kind: "truncate", bytes: 100_000 } : { kind: "forward" },
    );
    const bytes = await collect(await c.fetchBlob(busybox(proxy.host), layer));
    await c.close();
    expect(sha256(bytes)).toBe(layer.digest);
    const resumed = proxy.seen.at(-1)!;
    expect(resumed.headers.range).toBe("bytes=100000-");
  });

  it("rejects a manifest and a blob whose bytes were changed on the way", async () => {
    proxy.setRule(() => ({ kind: "forward" }));
    const c = make({ insecure: [proxy.host], retry: fast });
    const img = await c.resolveImage(busybox(proxy.host));
    proxy.setRule(() => ({ kind: "corrupt" }));
    const byTag = await c.getManifest(busybox(proxy.host)).catch((e: unknown) => e);
    expect(byTag).toBeInstanceOf(DigestMismatchError);
    expect(byTag).toMatchObject({ expected: img.manifestDigest });
    const byDigest = await c
      .getManifest({ ...busybox(proxy.host), digest: img.manifestDigest })
      .catch((e: unknown) => e);
    expect(byDigest).toMatchObject({ code: "MOLT_DIGEST_MISMATCH", expected: img.manifestDigest });
    const layer = img.manifest.layers[0]!;
    const blobErr = await c
      .fetchBlob(busybox(proxy.host), layer)
      .then(collect)
      .catch((e: unknown) => e);
    await c.close();
    expect(blobErr).toMatchObject({ code: "MOLT_DIGEST_MISMATCH", expected: layer.digest });
  });
});

describe("redirects", () => {
  it("follows a blob redirect to another host without sending credentials there", async () => {
    const creds = { credentials: { [basicReg.host]: { username: "carol", password: "carol-pass-1" } } };
    const direct = make({ insecure: [basicReg.host], retry: fast, ...creds });
    const ref = parseReference(`${basicReg.host}/redir/repo`);
    const bytes = Buffer.from(`redirected ${Math.random()}`);
    const desc: Descriptor = { mediaType: MediaType.OciLayer, digest: sha256(bytes), size: bytes.length };
    await direct.pushBlob(ref, desc, () => bytes);
    await direct.close();

    const storage = await startStorageHost(new Map([[desc.digest, bytes]]));
    const proxy = await startFaultProxy(basicReg.host, (req) =>
      req.method === "GET" && req.url?.includes("/blobs/") && req.headers.authorization
        ? { kind: "redirect", location: `${storage.origin}/blob/${desc.digest}?X-Signature=abc` }
        : { kind: "forward" },
    );
    const c = make({
      insecure: [proxy.host],
      retry: fast,
      credentials: { [proxy.host]: creds.credentials[basicReg.host]! },
    });
    try {
      const got = await collect(await c.fetchBlob(parseReference(`${proxy.host}/redir/repo`), desc));
      expect(got).toEqual(bytes);
      expect(
        proxy.seen.some((r) => r.url.includes("/blobs/") && r.headers.authorization?.startsWith("Basic ")),
      ).toBe(true);
      expect(storage.seen).toHaveLength(1);
      expect(storage.seen[0]!.headers.authorization).toBeUndefined();
      expect(storage.seen[0]!.url).toBe(`/blob/${desc.digest}?X-Signature=abc`);
    } finally {
      await c.close();
      await proxy.stop();
      await storage.stop();
    }
  });
});

describe("proxies and mirrors", () => {
  it("goes through an HTTP proxy, and not for hosts in NO_PROXY", async () => {
    const fwd = await startFaultProxy(registry);
    try {
      const via = make({ insecure: [registry], retry: fast, proxy: { httpProxy: `http://${fwd.host}` } });
      await via.getManifest(busybox(registry));
      await via.close();
      expect(fwd.seen.map((r) => `${r.method} ${r.url}`)).toContain(`CONNECT ${registry}`);
      const seen = fwd.seen.length;
      const bypass = make({
        insecure: [registry],
        retry: fast,
        proxy: { httpProxy: `http://${fwd.host}`, noProxy: `example.com,${registry.split(":")[0]}` },
      });
      await bypass.getManifest(busybox(registry));
      await bypass.close();
      expect(fwd.seen.length).toBe(seen);
    } finally {
      await fwd.stop();
    }
  });

  it("pulls Docker Hub names through a mirror, falling back past a dead one", async () => {
    // Make docker.io/library/busybox available on the local registry (the "mirror").
    const c = make({ insecure: [registry], retry: fast });
    const src = busybox(registry);
    const img = await c.resolveImage(src);
    const mirrorRef = parseReference(`${registry}/library/busybox:latest`);
    for (const d of [img.manifest.config, ...img.manifest.layers]) {
      await c.pushBlob(mirrorRef, d, () => c.fetchBlob(src, d), { mountFrom: src });
    }
    await c.putManifest(mirrorRef, img.manifestBytes, img.mediaType);
    await c.close();

    const viaMirror = make({
      insecure: ["127.0.0.1:1"],
      retry: { retries: 0 },
      mirrors: ["127.0.0.1:1", `http://${registry}`],
    });
    const pulled = await viaMirror.resolveImage(parseReference("busybox"));
    expect(pulled.manifestDigest).toBe(img.manifestDigest);
    const layer = await collect(
      await viaMirror.fetchBlob(parseReference("busybox"), img.manifest.layers[0]!),
    );
    expect(sha256(layer)).toBe(img.manifest.layers[0]!.digest);
    await viaMirror.close();
  });
});
