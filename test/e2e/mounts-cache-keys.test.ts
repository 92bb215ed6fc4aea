import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { build } from "molt";
import { afterAll, beforeAll, describe, expect, inject, test } from "vitest";

// Issue 18, "Mounted inputs are inputs": a bind mount's source is part of the RUN's cache key
// (context files after .dockerignore; a from= stage's key), a secret's value is not (its id and
// target are), so rotating a token reuses the cached step.
const registry = inject("registry");
const BASE = `${registry}/test/busybox:latest`;
let dir: string;
let ctx: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "molt-e2e-mount-keys-"));
  ctx = join(dir, "ctx");
  await mkdir(ctx);
  await writeFile(
    join(ctx, "Dockerfile"),
    [
      `FROM ${BASE} AS src`,
      "ARG STAGE_V=1",
      "RUN echo $STAGE_V > /v",
      `FROM ${BASE}`,
      "RUN --mount=type=secret,id=tok wc -c < /run/secrets/tok > /secret-size",
      "RUN --mount=from=src,source=/v,target=/v cat /v > /from-stage",
      "RUN --mount=source=bound.txt,target=/b cat /b > /from-context",
      "",
    ].join("\n"),
  );
  await writeFile(join(ctx, "bound.txt"), "bound v1\n");
  await writeFile(join(ctx, "unbound.txt"), "unbound v1\n");
  await writeFile(join(ctx, "ignored.txt"), "ignored v1\n");
  await writeFile(join(ctx, ".dockerignore"), "ignored.txt\n");
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function hits(opts: { secret: string; stageV?: string }): Promise<Record<string, boolean>> {
  const r = await build({
    context: ctx,
    noPush: true,
    ociLayoutPath: join(dir, "layout"),
    registries: { "*": { pull: { insecure: true } } },
    cache: { stores: [{ type: "directory", path: join(dir, "layer-cache") }] },
    cacheMounts: { dir: join(dir, "cache-mounts") },
    secrets: { tok: { value: opts.secret } },
    buildArgs: opts.stageV ? { STAGE_V: opts.stageV } : {},
  });
  const out: Record<string, boolean> = {};
  for (const s of r.steps) {
    if (s.stage !== 1 || !s.instruction.startsWith("RUN")) continue;
    const name = s.instruction.includes("secret")
      ? "secret"
      : s.instruction.includes("from=src")
        ? "stage"
        : "context";
    out[name] = s.cached;
  }
  return out;
}

describe("cache keys of RUN --mount steps", () => {
  test("hits and misses follow the mounted inputs, never a secret's value", async () => {
    expect(await hits({ secret: "token-1" })).toEqual({ secret: false, stage: false, context: false });
    expect(await hits({ secret: "token-1" })).toEqual({ secret: true, stage: true, context: true });
    // rotate the secret: hit (document: pass a build arg to bust it on purpose)
    expect(await hits({ secret: "token-2-rotated" })).toEqual({ secret: true, stage: true, context: true });
    // a file no step binds, and an ignored one: hit
    await writeFile(join(ctx, "unbound.txt"), "unbound v2\n");
    await writeFile(join(ctx, "ignored.txt"), "ignored v2\n");
    expect(await hits({ secret: "token-2-rotated" })).toEqual({ secret: true, stage: true, context: true });
    // the stage a from= bind reads changed: miss from that step on
    expect(await hits({ secret: "token-2-rotated", stageV: "2" })).toEqual({
      secret: true,
      stage: false,
      context: false,
    });
    // the bound context file changed: miss
    await writeFile(join(ctx, "bound.txt"), "bound v2\n");
    expect(await hits({ secret: "token-2-rotated" })).toEqual({ secret: true, stage: true, context: false });
    // no cache entry holds a secret's value (nor its base64)
    const files: Buffer[] = [];
    const walk = async (d: string): Promise<void> => {
      for (const e of await readdir(d, { withFileTypes: true })) {
        const p = join(d, e.name);
        if (e.isDirectory()) await walk(p);
        else if (e.isFile()) {
          const b = await readFile(p);
          files.push(b);
          if (b[0] === 0x1f && b[1] === 0x8b) files.push(gunzipSync(b));
        }
      }
    };
    await walk(join(dir, "layer-cache"));
    expect(files.length).toBeGreaterThan(3);
    for (const v of ["token-1", "token-2-rotated"]) {
      for (const needle of [v, Buffer.from(v).toString("base64")]) {
        expect(
          files.filter((f) => f.includes(needle)),
          needle,
        ).toEqual([]);
      }
    }
  }, 120_000);
});
