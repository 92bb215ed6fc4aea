import { mkdir, mkdtemp, readdir, rm, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { pushBusybox } from "../harness/base-images.js";
import { freshBuild } from "../harness/cache-build.js";
import { type RunningRegistry, startRegistry } from "../harness/registry.js";

// The digest memo of --cache-dir (packages/core/src/cache/digest-memo.ts) keeps small context
// files' bytes: a rebuild's COPY writes each file whose digest the memo vouched for in this
// build's keys from them, not from the file, and its image is the image of a build without cache.

let reg: RunningRegistry;
let dir: string;

beforeAll(async () => {
  reg = await startRegistry();
  await pushBusybox(reg.host);
  dir = await mkdtemp(join(tmpdir(), "molt-e2e-memo-bytes-"));
}, 120_000);
afterAll(async () => {
  await reg?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** One `molt build` in a fresh process and TMPDIR: its digest and its debug lines. */
const build = (ctx: string, dest: string, args: string[]) =>
  freshBuild(dir, reg.host, ctx, dest, args, "molt:cache:digests");

const written = (debug: string) =>
  Number(/(\d+) files written from its bytes/.exec(debug)?.[1] ?? Number.NaN);

describe("digest memo with small files' bytes", () => {
  test("a changed context file is read, the 33 unchanged small ones are written from the memo's bytes, a big one from its file; the image equals a build without cache", async () => {
    const ctx = join(dir, "ctx");
    await mkdir(join(ctx, "files/sub"), { recursive: true });
    for (let k = 0; k < 34; k++) await writeFile(join(ctx, `files/sub/f${k}`), `file ${k}\n`);
    await writeFile(join(ctx, "files/big"), "b".repeat(20_000));
    // Old enough that the memo trusts their timestamps (not "racy").
    const old = new Date(Date.now() - 60_000);
    for (const f of [...(await readdir(join(ctx, "files/sub"))).map((f) => `files/sub/${f}`), "files/big"])
      await utimes(join(ctx, f), old, old);
    await writeFile(join(ctx, "Dockerfile"), `FROM ${reg.host}/test/busybox:latest\nCOPY files/ /files/\n`);
    const cacheDir = join(dir, "cache");
    await new Promise((r) => setTimeout(r, 2100)); // the ctimes too
    const cold = await build(ctx, "memo/app:cold", ["--cache-dir", cacheDir]);
    expect(written(cold.debug)).toBe(0);

    await writeFile(join(ctx, "files/sub/f3"), "changed 3\n");
    const warm = await build(ctx, "memo/app:warm", ["--cache-dir", cacheDir]);
    expect(warm.debug).toMatch(/34 taken from the memo this build/);
    expect(written(warm.debug)).toBe(33);
    expect(warm.digest).toBe((await build(ctx, "memo/app:reference", [])).digest);

    // Nothing changed: the COPY is a cache hit and writes no layer, so no bytes are taken.
    const again = await build(ctx, "memo/app:again", ["--cache-dir", cacheDir]);
    expect(again.digest).toBe(warm.digest);
    expect(written(again.debug)).toBe(0);
  }, 120_000);
});
