import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type S3StandIn, startS3StandIn, verifySigV4 } from "../../../test/harness/s3-server.js";
import { ContextFetchError, ContextNotFoundError, openContext } from "../src/index.js";
import { fileSet, makeTree, SAMPLE, sh } from "./helpers.js";

// Debian 12 packages no S3-compatible server that runs alone: these tests drive the real AWS SDK
// S3 client against an on-the-wire stand-in (test/harness/s3-server.ts) that checks SigV4.

let dir: string;
let tmpParent: string;
let s3: S3StandIn;
let expected: string[];
const saved = { ...process.env };

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "molt-ctx-s3-"));
  tmpParent = join(dir, "tmp");
  await makeTree(tmpParent, {});
  await makeTree(join(dir, "src"), SAMPLE);
  await sh("sh", ["-c", `tar -C ${dir}/src -cf - . | gzip -c > ${dir}/ctx.tar.gz`]);
  expected = await fileSet(await openContext(join(dir, "src")));
  s3 = await startS3StandIn();
  s3.put("builds", "team/app/ctx.tar.gz", await readFile(`${dir}/ctx.tar.gz`));
});
afterAll(async () => {
  await s3?.stop();
  await rm(dir, { recursive: true, force: true });
});
afterEach(() => {
  process.env = { ...saved };
});

function useKeys(secret = s3.secretAccessKey) {
  process.env.AWS_ACCESS_KEY_ID = s3.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = secret;
  process.env.AWS_REGION = "eu-west-3";
  delete process.env.AWS_PROFILE;
  delete process.env.AWS_SESSION_TOKEN;
}

describe("the stand-in's SigV4 check", () => {
  it("accepts AWS's published GET Object example and refuses it changed by one byte", () => {
    // AWS S3 API reference, "Signature calculations for the Authorization header", GET Object example.
    const req = {
      method: "GET",
      url: "/test.txt",
      headers: {
        host: "examplebucket.s3.amazonaws.com",
        range: "bytes=0-9",
        "x-amz-content-sha256": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "x-amz-date": "20130524T000000Z",
        authorization:
          "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41",
      },
    };
    const secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
    expect(verifySigV4(req, "AKIAIOSFODNN7EXAMPLE", secret)).toEqual({ region: "us-east-1" });
    expect(
      verifySigV4(
        { ...req, headers: { ...req.headers, range: "bytes=0-8" } },
        "AKIAIOSFODNN7EXAMPLE",
        secret,
      ),
    ).toEqual({ error: "SignatureDoesNotMatch" });
  });
});

describe("s3:// contexts", () => {
  it("reads the object through the AWS SDK with signed requests (HEAD, then GET of that ETag)", async () => {
    useKeys();
    s3.requests.length = 0;
    const ctx = await openContext("s3://builds/team/app/ctx.tar.gz", {
      s3Endpoint: s3.endpoint,
      tmpDir: tmpParent,
    });
    expect(ctx.description).toBe("s3 object s3://builds/team/app/ctx.tar.gz");
    expect(await fileSet(ctx)).toEqual(expected);
    await ctx.close();
    expect(await readdir(tmpParent)).toEqual([]);
    expect(
      s3.requests.map((r) => [r.method, new URL(r.url, "http://x").pathname, r.signed, r.region]),
    ).toEqual([
      ["HEAD", "/builds/team/app/ctx.tar.gz", true, "eu-west-3"],
      ["GET", "/builds/team/app/ctx.tar.gz", true, "eu-west-3"],
    ]);
  });

  it("kaniko's S3_ENDPOINT works as the endpoint", async () => {
    useKeys();
    process.env.S3_ENDPOINT = s3.endpoint;
    const ctx = await openContext("s3://builds/team/app/ctx.tar.gz");
    expect(await fileSet(ctx)).toEqual(expected);
    await ctx.close();
  });

  it("a wrong secret is a ContextFetchError with the 403 (and no secret in the message)", async () => {
    useKeys("not-the-secret-key");
    const err = await openContext("s3://builds/team/app/ctx.tar.gz", {
      s3Endpoint: s3.endpoint,
      retries: 0,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ContextFetchError);
    expect(err).toMatchObject({ code: "MOLT_CONTEXT_FETCH", status: 403 });
    expect((err as Error).message).not.toContain("not-the-secret-key");
  });

  it("a missing key is ContextNotFoundError; a URL without a key is refused", async () => {
    useKeys();
    const err = await openContext("s3://builds/nope.tar.gz", { s3Endpoint: s3.endpoint }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ContextNotFoundError);
    await expect(openContext("s3://builds", { s3Endpoint: s3.endpoint })).rejects.toThrow(/S3 object key/);
  });

  it("a sha256 checksum that does not match fails the context", async () => {
    useKeys();
    await expect(
      openContext("s3://builds/team/app/ctx.tar.gz", {
        s3Endpoint: s3.endpoint,
        checksum: `sha256:${"0".repeat(64)}`,
        tmpDir: tmpParent,
      }),
    ).rejects.toThrow(/checksum|sha256/i);
    expect(await readdir(tmpParent)).toEqual([]);
  });
});
