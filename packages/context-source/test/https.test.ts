import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { createServer as createHttpServer, type Server as HttpServer } from "node:http";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DigestMismatchError } from "@molt/oci";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { requireBinary } from "../../../test/harness/registry.js";
import { ContextFetchError, ContextTooLargeError, openContext, readDockerfile } from "../src/index.js";
import { fileSet, makeTestCa, makeTree, SAMPLE, sh } from "./helpers.js";

let dir: string;
let tmpParent: string;
let ca: string;
let tarGz: Buffer;
let expected: string[];
let server: Server;
let plain: HttpServer;
let base: string;
let plainBase: string;

beforeAll(async () => {
  requireBinary("openssl", "Debian package openssl");
  dir = await mkdtemp(join(tmpdir(), "molt-ctx-https-"));
  tmpParent = join(dir, "tmp");
  await makeTree(tmpParent, {});
  // A throwaway CA and a server certificate for 127.0.0.1, made by openssl.
  const tls = await makeTestCa(await mkdtemp(join(dir, "pki-")));
  ca = await readFile(tls.ca, "utf8");
  await makeTree(join(dir, "src"), SAMPLE);
  await sh("sh", ["-c", `tar -C ${dir}/src -cf - . | gzip -c > ${dir}/ctx.tar.gz`]);
  tarGz = await readFile(`${dir}/ctx.tar.gz`);
  const local = await openContext(join(dir, "src"));
  expected = await fileSet(local);

  plain = createHttpServer((_req, res) => res.end("plain http"));
  await new Promise<void>((r) => plain.listen(0, "127.0.0.1", r));
  plainBase = `http://127.0.0.1:${(plain.address() as AddressInfo).port}`;
  server = createServer({ key: await readFile(tls.key), cert: await readFile(tls.cert) }, (req, res) => {
    switch (req.url) {
      case "/ctx.tar.gz":
        res.writeHead(200, { "content-type": "application/gzip", "content-length": tarGz.length });
        return res.end(tarGz);
      case "/chunked.tar.gz":
        res.writeHead(200, { "content-type": "application/gzip" });
        res.write(tarGz.subarray(0, 100));
        return res.end(tarGz.subarray(100));
      case "/redirect":
        res.writeHead(302, { location: "/hop" });
        return res.end();
      case "/hop":
        res.writeHead(301, { location: `${base}/ctx.tar.gz` });
        return res.end();
      case "/downgrade":
        res.writeHead(302, { location: `${plainBase}/ctx.tar.gz` });
        return res.end();
      case "/loop":
        res.writeHead(302, { location: "/loop" });
        return res.end();
      case "/Dockerfile":
        return res.end("FROM busybox\nRUN true\n");
      default:
        res.writeHead(404);
        return res.end("not found");
    }
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  base = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server?.close();
  plain?.close();
  await rm(dir, { recursive: true, force: true });
});

describe("https tarball contexts", () => {
  it("downloads over verified TLS and yields the same file set as the directory", async () => {
    const events: string[] = [];
    const ctx = await openContext(`${base}/ctx.tar.gz`, {
      ca,
      tmpDir: tmpParent,
      onProgress: (e) => events.push(e.type),
    });
    expect(await fileSet(ctx)).toEqual(expected);
    expect(events).toContain("molt:context:download");
    await ctx.close();
    expect(await readdir(tmpParent)).toEqual([]);
  });

  it("refuses a server its CA bundle does not trust", async () => {
    const err = await openContext(`${base}/ctx.tar.gz`, { tmpDir: tmpParent }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ContextFetchError);
    expect(String((err as Error).message)).toMatch(/certificate/i);
  });

  it("follows redirects, but never from https to http, and not forever", async () => {
    const ctx = await openContext(`${base}/redirect`, { ca, tmpDir: tmpParent });
    expect(await fileSet(ctx)).toEqual(expected);
    await ctx.close();
    await expect(openContext(`${base}/downgrade`, { ca, tmpDir: tmpParent })).rejects.toThrow(
      /refusing redirect/,
    );
    await expect(openContext(`${base}/loop`, { ca, tmpDir: tmpParent })).rejects.toThrow(
      /too many redirects/,
    );
  });

  it("reports HTTP errors with their status", async () => {
    const err = await openContext(`${base}/missing.tar.gz`, { ca, tmpDir: tmpParent }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ContextFetchError);
    expect((err as ContextFetchError).status).toBe(404);
  });

  it("enforces the size limit with and without content-length", async () => {
    await expect(
      openContext(`${base}/ctx.tar.gz`, { ca, maxBytes: 200, tmpDir: tmpParent }),
    ).rejects.toBeInstanceOf(ContextTooLargeError);
    await expect(
      openContext(`${base}/chunked.tar.gz`, { ca, maxBytes: 200, tmpDir: tmpParent }),
    ).rejects.toBeInstanceOf(ContextTooLargeError);
    expect(await readdir(tmpParent)).toEqual([]);
  });

  it("checks the checksum option", async () => {
    const stdout = await sh("sha256sum", [`${dir}/ctx.tar.gz`]);
    const good = `sha256:${stdout.split(" ")[0]}`;
    const ctx = await openContext(`${base}/chunked.tar.gz`, { ca, checksum: good, tmpDir: tmpParent });
    expect(await fileSet(ctx)).toEqual(expected);
    await ctx.close();
    const bad = `sha256:${"0".repeat(64)}`;
    await expect(
      openContext(`${base}/ctx.tar.gz`, { ca, checksum: bad, tmpDir: tmpParent }),
    ).rejects.toBeInstanceOf(DigestMismatchError);
    expect(await readdir(tmpParent)).toEqual([]);
  });

  it("reads a Dockerfile from a URL", async () => {
    expect(await readDockerfile(`${base}/Dockerfile`, { ca })).toEqual({
      text: "FROM busybox\nRUN true\n",
      path: `${base}/Dockerfile`,
      from: "url",
    });
  });
});
