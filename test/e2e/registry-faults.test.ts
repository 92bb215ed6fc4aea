import { spawn } from "node:child_process";
import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, inject, test } from "vitest";
import { run } from "../harness/exec.js";
import { type FaultProxy, type FaultRule, startFaultProxy } from "../harness/fault-proxy.js";
import { MOLT_BIN, molt } from "../harness/molt-cli.js";

// Registry faults through the fault proxy, seen from the CLI (issue 15 item 3 and the fault
// matrix): a real registry behind a proxy that drops, fails, throttles, stalls or trickles.

const registry = inject("registry");
let dir: string;
let n = 0;
let proxy: FaultProxy | undefined;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "molt-e2e-faults-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});
afterEach(async () => {
  await proxy?.stop();
  proxy = undefined;
});

/** A context whose image has one fresh 3 MiB layer, FROM busybox through the proxy. */
async function context(from: string): Promise<{ ctx: string; tmp: string }> {
  const ctx = join(dir, `ctx-${++n}`);
  const tmp = join(dir, `tmp-${n}`);
  await mkdir(ctx, { recursive: true });
  await mkdir(tmp, { recursive: true });
  const big = Buffer.alloc(3 * 1024 * 1024);
  for (let i = 0; i < big.length; i += 4) big.writeUInt32LE((i * 2654435761 + n) >>> 0, i);
  await writeFile(join(ctx, "big.bin"), big);
  await writeFile(join(ctx, "Dockerfile"), `FROM ${from}/test/busybox:latest\nCOPY big.bin /big.bin\n`);
  return { ctx, tmp };
}

async function pushedTo(ref: string): Promise<boolean> {
  const r = await run("skopeo", ["inspect", "--tls-verify=false", `docker://${ref}`], { allowFail: true });
  return r.code === 0;
}

async function build(rule: FaultRule, extra: string[] = []) {
  proxy = await startFaultProxy(registry, rule);
  const { ctx, tmp } = await context(proxy.host);
  const dest = `${proxy.host}/faults/case${n}:latest`;
  const t0 = Date.now();
  const r = await molt(["build", "-c", ctx, "-d", dest, "--insecure", "--insecure-pull", ...extra], {
    env: { ...process.env, TMPDIR: tmp },
  });
  return {
    ...r,
    ms: Date.now() - t0,
    dest: `${registry}/faults/case${n}:latest`,
    leftovers: await readdir(tmp),
  };
}

const isBlobPut = (m: string | undefined, url: string | undefined) =>
  m === "PUT" && !!url?.includes("/blobs/uploads/");

describe("registry faults during a build", () => {
  test("a connection dropped mid-upload is retried and the push completes", async () => {
    let dropped = 0;
    const r = await build((req) => {
      if (isBlobPut(req.method, req.url) && dropped === 0) {
        dropped++;
        return { kind: "drop", afterRequestBytes: 512 * 1024 };
      }
      return { kind: "forward" };
    });
    expect(r.code, r.stderr).toBe(0);
    expect(dropped).toBe(1);
    expect(await pushedTo(r.dest)).toBe(true);
    expect(r.leftovers).toEqual([]);
  });

  test("a 500 on the manifest PUT and a 429 with Retry-After on a blob check are waited out", async () => {
    let failedPut = 0;
    let throttled = 0;
    const r = await build((req) => {
      if (req.method === "PUT" && req.url?.includes("/manifests/") && failedPut === 0) {
        failedPut++;
        return { kind: "status", status: 500, body: '{"errors":[{"code":"UNKNOWN","message":"boom"}]}' };
      }
      if (req.method === "HEAD" && req.url?.includes("/faults/") && throttled === 0) {
        throttled++;
        return { kind: "status", status: 429, headers: { "retry-after": "1" } };
      }
      return { kind: "forward" };
    });
    expect(r.code, r.stderr).toBe(0);
    expect([failedPut, throttled]).toEqual([1, 1]);
    expect(r.ms).toBeGreaterThanOrEqual(1_000);
    expect(await pushedTo(r.dest)).toBe(true);
  });

  test("a registry that stalls: --registry-idle-timeout fails the build in seconds, naming registry, operation and time", async () => {
    const r = await build(
      (req) => (req.url?.includes("/manifests/") ? { kind: "stall" } : { kind: "forward" }),
      ["--registry-idle-timeout", "500ms", "--image-download-retry", "1"],
    );
    expect(r.code).toBe(1);
    const line = r.stderr.trim().split("\n").at(-1);
    expect(line).toMatch(
      /^molt: error: get manifest 127\.0\.0\.1:\d+\/test\/busybox:latest: registry 127\.0\.0\.1:\d+ sent or took no bytes for 0\.5 s \(idle timeout\) \(gave up after 2 attempts\) \[MOLT_REGISTRY_TIMEOUT\]$/,
    );
    expect(r.ms).toBeLessThan(15_000);
    expect(r.leftovers).toEqual([]);
  });

  test("a slow trickle: --registry-timeout caps the operation", async () => {
    const r = await build(
      (req) =>
        req.method === "GET" && req.url?.includes("/blobs/sha256:")
          ? { kind: "trickle", bytes: 256, intervalMs: 50 }
          : { kind: "forward" },
      ["--registry-timeout", "2s", "--registry-idle-timeout", "10s"],
    );
    expect(r.code).toBe(1);
    // The layer is read while extracting, so the extractor's error wraps the registry's.
    expect(r.stderr).toMatch(
      /get blob sha256:\w+ of 127\.0\.0\.1:\d+\/test\/busybox:latest@sha256:\w+: registry 127\.0\.0\.1:\d+ did not finish in 2 s \(operation timeout\)/,
    );
    expect(r.ms).toBeLessThan(15_000);
    expect(r.leftovers).toEqual([]);
  });

  test("SIGTERM during a stalled request stops the build at once", async () => {
    proxy = await startFaultProxy(registry, (req) =>
      req.url?.includes("/manifests/") ? { kind: "stall" } : { kind: "forward" },
    );
    const { ctx, tmp } = await context(proxy.host);
    const child = spawn(process.execPath, [MOLT_BIN, "build", "-c", ctx, "--no-push", "--insecure-pull"], {
      env: { ...process.env, TMPDIR: tmp },
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    // Wait until the manifest request is hanging at the proxy.
    for (let i = 0; i < 100 && !proxy.seen.some((s) => s.url.includes("/manifests/")); i++)
      await new Promise((r) => setTimeout(r, 50));
    await new Promise((r) => setTimeout(r, 200));
    const t0 = Date.now();
    child.kill("SIGTERM");
    expect(await exited, stderr).toBe(130);
    expect(Date.now() - t0).toBeLessThan(2_000);
    expect(await readdir(tmp)).toEqual([]);
  });
});
