import { createHash } from "node:crypto";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, inject, test } from "vitest";
import { buildAndUnpack } from "../harness/molt-cli.js";

const registry = inject("registry");
const BASE = `${registry}/test/busybox:latest`;
const FILE_SECRET = "s3cr3t-from-file-7f1c9a";
const ENV_SECRET = "t0ken-from-env-44be02";
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "molt-e2e-secrets-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Every blob of an OCI layout, gzip layers decompressed. */
async function blobs(layout: string): Promise<Buffer[]> {
  const d = join(layout, "blobs", "sha256");
  const out: Buffer[] = [];
  for (const n of await readdir(d)) {
    const b = await readFile(join(d, n));
    out.push(b);
    if (b[0] === 0x1f && b[1] === 0x8b) out.push(gunzipSync(b));
  }
  return out;
}

function leaks(haystacks: (string | Buffer)[], secrets: string[]): string[] {
  const found: string[] = [];
  for (const s of secrets) {
    for (const needle of [
      s,
      Buffer.from(s).toString("base64"),
      Buffer.from(s).toString("base64").slice(0, 16),
    ]) {
      if (haystacks.some((h) => (typeof h === "string" ? h.includes(needle) : h.includes(needle))))
        found.push(needle);
    }
  }
  return found;
}

const sha = (s: string) => createHash("sha256").update(s).digest("hex");

describe("RUN --mount=type=secret", () => {
  test("from a file and from an env var, as a file and as env=; never in a blob, output or debug log", async () => {
    const ctx = join(dir, "ctx");
    await mkdir(ctx, { recursive: true });
    const secretFile = join(dir, "token.txt");
    await writeFile(secretFile, FILE_SECRET);
    await writeFile(
      join(ctx, "Dockerfile"),
      [
        `FROM ${BASE}`,
        // values are checked through their digest inside the RUN, never printed
        "RUN --mount=type=secret,id=filetok sha256sum /run/secrets/filetok | cut -d' ' -f1 > /file-sha && stat -c '%a %u %g' /run/secrets/filetok > /file-stat",
        "RUN --mount=type=secret,id=envtok,env=TOKEN,target=/tok,mode=0440,uid=1000,gid=1000 printf %s \"$TOKEN\" | sha256sum | cut -d' ' -f1 > /env-sha && sha256sum /tok | cut -d' ' -f1 > /tok-sha && stat -c '%a %u %g' /tok > /tok-stat",
        "RUN --mount=type=secret,id=onlyenv,env=ONLY printf %s \"$ONLY\" | sha256sum | cut -d' ' -f1 > /only-sha && ls /run/secrets > /only-ls 2>&1 || echo none > /only-ls",
        "RUN --mount=type=secret,id=absent if [ -e /run/secrets/absent ]; then echo present; else echo absent; fi > /absent",
        'RUN echo "$TOKEN$ONLY" > /later-env',
        "",
      ].join("\n"),
    );
    const work = join(dir, "w1");
    const r = await buildAndUnpack(
      ctx,
      work,
      [
        "--secret",
        `id=filetok,src=${secretFile}`,
        "--secret",
        "id=envtok,env=MY_TOKEN",
        "--secret",
        "id=onlyenv,env=MY_TOKEN",
      ],
      { env: { ...process.env, MY_TOKEN: ENV_SECRET, DEBUG: "molt:*" } },
    );
    expect(r.code, r.stderr).toBe(0);
    const rd = (p: string) => readFile(join(r.rootfs, p), "utf8").then((s) => s.trim());
    expect(await rd("file-sha")).toBe(sha(FILE_SECRET));
    expect(await rd("file-stat")).toBe("400 0 0");
    expect(await rd("env-sha")).toBe(sha(ENV_SECRET));
    expect(await rd("tok-sha")).toBe(sha(ENV_SECRET));
    expect(await rd("tok-stat")).toBe("440 1000 1000");
    expect(await rd("only-sha")).toBe(sha(ENV_SECRET));
    expect(await rd("only-ls")).toBe("none");
    expect(await rd("absent")).toBe("absent");
    expect(await rd("later-env")).toBe("");
    // /run/secrets was made for the mounts only: not in the image
    expect(await readdir(r.rootfs)).not.toContain("run");
    const everything = [...(await blobs(r.layout)), r.stdout, r.stderr];
    expect(r.stderr).toContain("molt:"); // debug output was on
    expect(leaks(everything, [FILE_SECRET, ENV_SECRET])).toEqual([]);
  }, 60_000);

  test("a missing required secret is a located error that names the id, not a value", async () => {
    const ctx = join(dir, "ctx-req");
    await mkdir(ctx, { recursive: true });
    await writeFile(
      join(ctx, "Dockerfile"),
      [`FROM ${BASE}`, "RUN --mount=type=secret,id=npmrc,required true", ""].join("\n"),
    );
    const r = await buildAndUnpack(ctx, join(dir, "w2"));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/Dockerfile:2:1: .*secret "npmrc" is required/);
    expect(r.stderr).toContain("MOLT_MOUNT_SECRET_NOT_FOUND");
  });
});
