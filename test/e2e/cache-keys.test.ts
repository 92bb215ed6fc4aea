import { createHash } from "node:crypto";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { pushBusybox } from "../harness/base-images.js";
import { cacheBuild } from "../harness/cache-build.js";
import { run } from "../harness/exec.js";
import { type RunningRegistry, startRegistry } from "../harness/registry.js";
import { readTree } from "../harness/tree-diff.js";

// Issue 11's key rules and switches not covered by cache.test.ts: ADD <url> keyed by its
// --checksum (never fetched on a hit) or by its fetched digest (a changed served file misses),
// --cache-ttl expiry, --cache-run-layers=false and --cache-copy-layers=false. Real registry,
// real builds, every build a fresh process with a fresh temp dir.

let reg: RunningRegistry;
let dir: string;
let files: HttpServer;
let n = 0;

/** A loopback HTTP file server that counts the GETs of each path. */
interface HttpServer {
  url: string;
  body: Map<string, string>;
  gets: Map<string, number>;
  server: Server;
}

async function serve(): Promise<HttpServer> {
  const body = new Map<string, string>();
  const gets = new Map<string, number>();
  const server = createServer((req, res) => {
    const path = (req.url ?? "").split("?")[0]!;
    if (req.method === "GET") gets.set(path, (gets.get(path) ?? 0) + 1);
    const b = body.get(path);
    if (b === undefined) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, {
      "Content-Length": Buffer.byteLength(b),
      "Last-Modified": "Wed, 01 Jan 2020 00:00:00 GMT",
    });
    res.end(req.method === "HEAD" ? undefined : b);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, body, gets, server };
}

beforeAll(async () => {
  reg = await startRegistry();
  await pushBusybox(reg.host);
  dir = await mkdtemp(join(tmpdir(), "molt-e2e-cache-keys-"));
  files = await serve();
}, 120_000);
afterAll(async () => {
  await new Promise((r) => files?.server.close(r));
  await reg?.stop();
  await rm(dir, { recursive: true, force: true });
});

interface Built {
  cached: string[];
  missed: Map<string, string>;
  stderr: string;
}

async function build(ctx: string, dest: string, args: string[]): Promise<Built> {
  const r = await cacheBuild(dir, [
    "-c",
    ctx,
    "-d",
    `${reg.host}/${dest}`,
    "--insecure",
    "--insecure-pull",
    "--reproducible",
    ...args,
  ]);
  if (r.code !== 0) throw new Error(`molt build failed (${r.code}):\n${r.stderr}`);
  return { cached: r.cached, missed: r.missed, stderr: r.stderr };
}

async function context(contents: Record<string, string>): Promise<string> {
  const ctx = join(dir, `ctx-${n++}`);
  await mkdir(ctx, { recursive: true });
  for (const [p, c] of Object.entries(contents)) await writeFile(join(ctx, p), c);
  return ctx;
}

async function fileIn(ref: string, path: string): Promise<string | undefined> {
  const work = await mkdtemp(join(dir, "unpack-"));
  await run("skopeo", [
    "copy",
    "--quiet",
    "--src-tls-verify=false",
    `docker://${reg.host}/${ref}`,
    `oci:${work}/l:x`,
  ]);
  await run("umoci", ["unpack", "--image", `${work}/l:x`, `${work}/b`]);
  return (await readTree(join(work, "b", "rootfs"))).get(path)?.content;
}

const sha = (s: string) => createHash("sha256").update(s).digest("hex");
const BASE = () => `${reg.host}/test/busybox:latest`;

describe("ADD <url> keys", () => {
  test("--checksum: the key is the checksum, so a hit never fetches the URL", async () => {
    files.body.set("/pinned.txt", "pinned v1\n");
    const ctx = await context({
      Dockerfile: `FROM ${BASE()}\nADD --checksum=sha256:${sha("pinned v1\n")} ${files.url}/pinned.txt /pinned.txt\nRUN cat /pinned.txt > /copy\n`,
    });
    const cold = await build(ctx, "url/pinned:1", ["--cache=true"]);
    expect([...cold.missed.keys()]).toEqual(["0/1", "0/2"]);
    expect(files.gets.get("/pinned.txt")).toBe(1);
    const warm = await build(ctx, "url/pinned:2", [
      "--cache=true",
      "--cache-repo",
      `${reg.host}/url/pinned/cache`,
    ]);
    expect(warm.cached).toEqual(["0/1", "0/2"]);
    expect(files.gets.get("/pinned.txt")).toBe(1); // not fetched again
    expect(await fileIn("url/pinned:2", "copy")).toBe(sha("pinned v1\n"));
  });

  test("without --checksum: keyed by the fetched digest; a changed served file misses and what follows reruns", async () => {
    files.body.set("/live.txt", "live v1\n");
    const ctx = await context({
      Dockerfile: `FROM ${BASE()}\nRUN echo before > /before\nADD ${files.url}/live.txt /live.txt\nRUN cat /live.txt > /copy\n`,
    });
    const repo = ["--cache=true", "--cache-repo", `${reg.host}/url/live/cache`];
    await build(ctx, "url/live:1", repo);
    const same = await build(ctx, "url/live:2", repo);
    expect(same.cached).toEqual(["0/1", "0/2", "0/3"]);
    files.body.set("/live.txt", "live v2, longer\n");
    const changed = await build(ctx, "url/live:3", repo);
    expect(changed.cached).toEqual(["0/1"]);
    expect(changed.missed.get("0/2")).toBe(`${files.url}/live.txt content changed`);
    expect(changed.missed.get("0/3")).toBe("an earlier step changed");
    expect(await fileIn("url/live:3", "copy")).toBe(sha("live v2, longer\n"));
  });
});

describe("cache switches", () => {
  test("--cache-ttl: an entry older than the TTL is a miss; a longer TTL still hits it", async () => {
    const ctx = await context({ Dockerfile: `FROM ${BASE()}\nCOPY f /f\nRUN cat /f > /g\n`, f: "ttl\n" });
    const repo = ["--cache=true", "--cache-repo", `${reg.host}/ttl/app/cache`];
    await build(ctx, "ttl/app:1", repo);
    await new Promise((r) => setTimeout(r, 2500));
    const expired = await build(ctx, "ttl/app:2", [...repo, "--cache-ttl", "2s"]);
    expect(expired.cached).toEqual([]);
    expect([...expired.missed.keys()]).toEqual(["0/1", "0/2"]);
    expect(expired.missed.get("0/1")).toBe("entry expired or unreadable");
    const fresh = await build(ctx, "ttl/app:3", [...repo, "--cache-ttl", "1h"]);
    expect(fresh.cached).toEqual(["0/1", "0/2"]);
  });

  test("--cache-run-layers=false: RUN steps neither hit nor write entries; COPY still does", async () => {
    const ctx = await context({ Dockerfile: `FROM ${BASE()}\nCOPY f /f\nRUN cat /f > /g\n`, f: "run off\n" });
    const repo = ["--cache=true", "--cache-repo", `${reg.host}/runoff/app/cache`];
    const off = await build(ctx, "runoff/app:1", [...repo, "--cache-run-layers=false"]);
    expect(off.missed.get("0/2")).toBe("not cached (--cache-run-layers=false)");
    const again = await build(ctx, "runoff/app:2", [...repo, "--cache-run-layers=false"]);
    expect(again.cached).toEqual(["0/1"]);
    expect(again.missed.get("0/2")).toBe("not cached (--cache-run-layers=false)");
    // Nothing was written for the RUN: with the switch back on it finds no entry.
    const on = await build(ctx, "runoff/app:3", repo);
    expect(on.cached).toEqual(["0/1"]);
    expect(on.missed.get("0/2")).toBe("no entry in cache");
  });

  test("--cache-copy-layers=false: COPY steps neither hit nor write entries; RUN still does", async () => {
    const ctx = await context({
      Dockerfile: `FROM ${BASE()}\nCOPY f /f\nRUN cat /f > /g\n`,
      f: "copy off\n",
    });
    const repo = ["--cache=true", "--cache-repo", `${reg.host}/copyoff/app/cache`];
    const off = await build(ctx, "copyoff/app:1", [...repo, "--cache-copy-layers=false"]);
    expect(off.missed.get("0/1")).toBe("not cached (--cache-copy-layers=false)");
    const again = await build(ctx, "copyoff/app:2", [...repo, "--cache-copy-layers=false"]);
    expect(again.cached).toEqual(["0/2"]);
    expect(again.missed.get("0/1")).toBe("not cached (--cache-copy-layers=false)");
    const on = await build(ctx, "copyoff/app:3", repo);
    expect(on.cached).toEqual(["0/2"]);
    expect(on.missed.get("0/1")).toBe("no entry in cache");
  });
});
