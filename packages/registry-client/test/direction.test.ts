import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Descriptor, MediaType, parseReference, sha256 } from "@molt/oci";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { type FaultProxy, startFaultProxy } from "../../../test/harness/fault-proxy.js";
import { makeTestPki, type TestPki } from "../../../test/harness/tls.js";
import { RegistryClient, type RegistryClientOptions } from "../src/index.js";

const registry = inject("registry");
let dir: string;
let pki: TestPki;
const fast = { retries: 1, minDelayMs: 5, maxDelayMs: 10 };

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "molt-rc-direction-"));
  pki = await makeTestPki(dir);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function make(opts: RegistryClientOptions): RegistryClient {
  return new RegistryClient({ noCredentialChain: true, proxy: false, retry: fast, ...opts });
}

function blob(text: string): { bytes: Buffer; desc: Descriptor } {
  const bytes = Buffer.from(text);
  return { bytes, desc: { mediaType: MediaType.OciLayer, digest: sha256(bytes), size: bytes.length } };
}

describe("per-direction transport settings", () => {
  it("a host insecure for pulls only is pulled over HTTP and never pushed to over HTTP", async () => {
    const c = make({ pull: { insecure: [registry] } });
    const m = await c.getManifest(parseReference(`${registry}/test/busybox:latest`));
    expect(m.digest).toMatch(/^sha256:/);
    const { bytes, desc } = blob(`pull-only ${Math.random()}`);
    const err = await c
      .pushBlob(parseReference(`${registry}/direction/lib`), desc, () => bytes)
      .catch((e: unknown) => e);
    await c.close();
    expect(err).toMatchObject({ code: "MOLT_REGISTRY_TLS", registry });
    expect((err as Error).message).toMatch(/^check blob sha256:\w+ in .*: TLS error talking to registry/);
    expect((err as Error).message).toContain("mark it insecure for pushes");
    const judge = make({ insecure: [registry] });
    expect(await judge.hasBlob(parseReference(`${registry}/direction/lib`), desc.digest)).toBe(false);
    await judge.close();
  });

  it("a host insecure for pushes only is pushed to over HTTP and pulled from over HTTPS", async () => {
    const c = make({ push: { insecure: [registry] } });
    const { bytes, desc } = blob(`push-only ${Math.random()}`);
    expect(await c.pushBlob(parseReference(`${registry}/direction/lib`), desc, () => bytes)).toBe("uploaded");
    const err = await c
      .getManifest(parseReference(`${registry}/test/busybox:latest`))
      .catch((e: unknown) => e);
    await c.close();
    expect(err).toMatchObject({ code: "MOLT_REGISTRY_TLS" });
  });

  it("a TLS host unverified for pulls only is verified on push", async () => {
    const front = await startFaultProxy(registry, undefined, {
      tls: {
        cert: await readFile(pki.serverCertFile, "utf8"),
        key: await readFile(pki.serverKeyFile, "utf8"),
      },
    });
    try {
      const c = make({ pull: { skipTlsVerify: [front.host] } });
      await c.getManifest(parseReference(`${front.host}/test/busybox:latest`));
      const { bytes, desc } = blob(`skip-pull ${Math.random()}`);
      const err = await c
        .pushBlob(parseReference(`${front.host}/direction/lib`), desc, () => bytes)
        .catch((e: unknown) => e);
      await c.close();
      expect(err).toMatchObject({ code: "MOLT_REGISTRY_TLS", registry: front.host });
      expect(front.seen.filter((r) => r.method !== "GET").map((r) => r.method)).toEqual([]);
    } finally {
      await front.stop();
    }
  });

  it("refuses an upload Location that downgrades a verified TLS push to plain HTTP", async () => {
    let front: FaultProxy | undefined;
    front = await startFaultProxy(
      registry,
      (req) =>
        req.method === "POST" && req.url?.includes("/blobs/uploads/")
          ? {
              kind: "status",
              status: 202,
              headers: { location: `http://${front!.host}/v2/direction/lib/blobs/uploads/x` },
            }
          : { kind: "forward" },
      {
        tls: {
          cert: await readFile(pki.serverCertFile, "utf8"),
          key: await readFile(pki.serverKeyFile, "utf8"),
        },
      },
    );
    try {
      const c = make({ tls: { [front.host]: { ca: pki.caCert } } });
      const { bytes, desc } = blob(`downgrade ${Math.random()}`);
      const err = await c
        .pushBlob(parseReference(`${front.host}/direction/lib`), desc, () => bytes)
        .catch((e: unknown) => e);
      await c.close();
      expect(err).toMatchObject({ code: "MOLT_REGISTRY_PROTOCOL", registry: front.host });
      expect((err as Error).message).toContain("sent molt to plain HTTP");
      expect(front.seen.map((r) => r.method)).toEqual(["HEAD", "POST"]);
    } finally {
      await front.stop();
    }
  });
});
