import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { crc32cBase64, type GcsStandIn, startGcsStandIn } from "../../../test/harness/gcs-server.js";
import { ContextFetchError, ContextNotFoundError, ContextTooLargeError, openContext } from "../src/index.js";
import { fileSet, makeTree, SAMPLE, sh } from "./helpers.js";

// No GCS emulator runs on these machines: these tests drive the real @google-cloud/storage client
// against an on-the-wire stand-in of the JSON API (test/harness/gcs-server.ts).

let dir: string;
let tmpParent: string;
let gcs: GcsStandIn;
let tarGz: Buffer;
let expected: string[];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "molt-ctx-gcs-"));
  tmpParent = join(dir, "tmp");
  await makeTree(tmpParent, {});
  await makeTree(join(dir, "src"), SAMPLE);
  await sh("sh", ["-c", `tar -C ${dir}/src -cf - . | gzip -c > ${dir}/ctx.tar.gz`]);
  tarGz = await readFile(`${dir}/ctx.tar.gz`);
  const local = await openContext(join(dir, "src"));
  expected = await fileSet(local);
  gcs = await startGcsStandIn();
  gcs.put("builds", "team/app/context.tar.gz", tarGz);
  gcs.put("builds", "context.tar.gz", tarGz);
});
afterAll(async () => {
  await gcs?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe("gs:// contexts", () => {
  it("crc32c of the stand-in matches the published test vector", () => {
    // RFC 3720 B.4: CRC32C of 32 bytes of zeros is 0x8a9136aa
    expect(Buffer.from(crc32cBase64(Buffer.alloc(32)), "base64").toString("hex")).toBe("8a9136aa");
  });

  it("reads metadata, then downloads that generation, through apiEndpoint", async () => {
    gcs.requests.length = 0;
    const ctx = await openContext("gs://builds/team/app/context.tar.gz", {
      apiEndpoint: gcs.endpoint,
      tmpDir: tmpParent,
    });
    expect(ctx.description).toBe("gcs object gs://builds/team/app/context.tar.gz");
    expect(await fileSet(ctx)).toEqual(expected);
    await ctx.close();
    expect(await readdir(tmpParent)).toEqual([]);
    const seen = gcs.requests.map((r) => {
      const u = new URL(r.url, "http://x");
      return { method: r.method, path: u.pathname, query: Object.fromEntries(u.searchParams) };
    });
    expect(seen).toEqual([
      { method: "GET", path: "/storage/v1/b/builds/o/team%2Fapp%2Fcontext.tar.gz", query: {} },
      {
        method: "GET",
        path: "/storage/v1/b/builds/o/team%2Fapp%2Fcontext.tar.gz",
        query: { alt: "media", generation: expect.stringMatching(/^\d+$/) },
      },
    ]);
    // a custom endpoint gets no credentials, as the library does
    expect(gcs.requests.every((r) => r.authorization === undefined)).toBe(true);
  });

  it("honours STORAGE_EMULATOR_HOST, and gs://bucket alone means context.tar.gz", async () => {
    const before = process.env.STORAGE_EMULATOR_HOST;
    process.env.STORAGE_EMULATOR_HOST = gcs.endpoint;
    gcs.requests.length = 0;
    try {
      const ctx = await openContext("gs://builds", { tmpDir: tmpParent });
      expect(await fileSet(ctx)).toEqual(expected);
      await ctx.close();
      expect(gcs.requests[0]?.url.startsWith("/b/builds/o/context.tar.gz")).toBe(true);
    } finally {
      if (before === undefined) delete process.env.STORAGE_EMULATOR_HOST;
      else process.env.STORAGE_EMULATOR_HOST = before;
    }
  });

  it("a missing object is a not-found error naming it", async () => {
    const err = await openContext("gs://builds/nope.tar.gz", { apiEndpoint: gcs.endpoint }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ContextNotFoundError);
    expect((err as Error).message).toBe("context object does not exist: gs://builds/nope.tar.gz");
  });

  it("checks the size limit from the metadata before downloading", async () => {
    gcs.requests.length = 0;
    await expect(
      openContext("gs://builds/context.tar.gz", {
        apiEndpoint: gcs.endpoint,
        maxBytes: 100,
        tmpDir: tmpParent,
      }),
    ).rejects.toBeInstanceOf(ContextTooLargeError);
    expect(gcs.requests).toHaveLength(1);
  });

  it("a download that fails CRC32C validation is refused and leaves nothing behind", async () => {
    const bad = Buffer.from(tarGz);
    bad[bad.length - 20] = (bad[bad.length - 20] as number) ^ 0xff;
    gcs.corruptNextDownload("context.tar.gz", bad);
    const err = await openContext("gs://builds/context.tar.gz", {
      apiEndpoint: gcs.endpoint,
      tmpDir: tmpParent,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as { code?: string }).code).toMatch(/^MOLT_CONTEXT_(FETCH|ARCHIVE)$/);
    expect(await readdir(tmpParent)).toEqual([]);
  });

  it("is refused as a fetch error when the endpoint is down", async () => {
    const err = await openContext("gs://builds/context.tar.gz", {
      apiEndpoint: "http://127.0.0.1:9",
      retries: 0,
      tmpDir: tmpParent,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ContextFetchError);
  }, 120_000);
});
