import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, test } from "vitest";
import { buildAndUnpack } from "../harness/molt-cli.js";

// Two `molt build` processes at once on one machine, sharing a cache-mount directory, for each sharing mode.
const registry = inject("registry");
const BASE = `${registry}/test/busybox:latest`;
let dir: string;
let cacheDir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "molt-e2e-sharing-"));
  cacheDir = join(dir, "cache-mounts");
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** One `molt build` process (so the two builds are two processes on this machine, as in CI). */
async function buildOne(name: string, lines: string[], args: Record<string, string>): Promise<string> {
  const ctx = join(dir, name);
  await mkdir(ctx, { recursive: true });
  await writeFile(join(ctx, "Dockerfile"), [`FROM ${BASE}`, "ARG WHO", ...lines, ""].join("\n"));
  const buildArgs = Object.entries(args).flatMap(([k, v]) => ["--build-arg", `${k}=${v}`]);
  const r = await buildAndUnpack(ctx, join(dir, `${name}-work`), [
    "--cache-mount-dir",
    cacheDir,
    ...buildArgs,
  ]);
  if (r.code !== 0) throw new Error(`${name}: ${r.stderr}`);
  return r.rootfs;
}

// Both builds wait inside their RUN until the other one is there too (a shared rendezvous cache).
const RENDEZVOUS =
  "touch /rv/$WHO; i=0; while [ ! -e /rv/$OTHER ] && [ $i -lt 1200 ]; do sleep 0.05; i=$((i+1)); done; test -e /rv/$OTHER";

describe("cache mount sharing across two concurrent builds", () => {
  test("shared: both builds see one directory at the same time", async () => {
    const line = `RUN --mount=type=cache,id=rv-shared,target=/rv OTHER=$([ $WHO = a ] && echo b || echo a); ${RENDEZVOUS} && ls /rv > /seen`;
    const [a, b] = await Promise.all([
      buildOne("shared-a", [line], { WHO: "a" }),
      buildOne("shared-b", [line], { WHO: "b" }),
    ]);
    expect((await readFile(join(a, "seen"), "utf8")).split("\n").filter(Boolean)).toEqual(["a", "b"]);
    expect((await readFile(join(b, "seen"), "utf8")).split("\n").filter(Boolean)).toEqual(["a", "b"]);
  }, 120_000);

  test("private: concurrent users get their own directories", async () => {
    const line = `RUN --mount=type=cache,id=rv-private,target=/rv --mount=type=cache,id=priv,sharing=private,target=/p OTHER=$([ $WHO = a ] && echo b || echo a); touch /p/$WHO; ${RENDEZVOUS} && ls /p > /seen`;
    const [a, b] = await Promise.all([
      buildOne("private-a", [line], { WHO: "a" }),
      buildOne("private-b", [line], { WHO: "b" }),
    ]);
    const sa = (await readFile(join(a, "seen"), "utf8")).split("\n").filter(Boolean);
    const sb = (await readFile(join(b, "seen"), "utf8")).split("\n").filter(Boolean);
    expect(sa).toContain("a");
    expect(sa).not.toContain("b");
    expect(sb).toContain("b");
    expect(sb).not.toContain("a");
  }, 120_000);

  test("locked: the second build waits until the first has let go", async () => {
    const line =
      "RUN --mount=type=cache,id=serial,sharing=locked,target=/c echo start-$WHO >> /c/log && sleep 1 && echo end-$WHO >> /c/log && cat /c/log > /seen";
    const [a, b] = await Promise.all([
      buildOne("locked-a", [line], { WHO: "a" }),
      buildOne("locked-b", [line], { WHO: "b" }),
    ]);
    const la = (await readFile(join(a, "seen"), "utf8")).split("\n").filter(Boolean);
    const lb = (await readFile(join(b, "seen"), "utf8")).split("\n").filter(Boolean);
    const last = la.length > lb.length ? la : lb;
    expect(last).toHaveLength(4);
    // never interleaved: each start is followed by its own end
    expect(last[1]).toBe(last[0]!.replace("start", "end"));
    expect(last[3]).toBe(last[2]!.replace("start", "end"));
    expect(new Set([last[0], last[2]])).toEqual(new Set(["start-a", "start-b"]));
  }, 120_000);
});
