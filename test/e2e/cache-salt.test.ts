import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { pushBusybox } from "../harness/base-images.js";
import { cacheBuild } from "../harness/cache-build.js";
import { writeContext } from "../harness/context-dir.js";
import { run } from "../harness/exec.js";
import { type RunningRegistry, startRegistry } from "../harness/registry.js";

// Issue 11: hidden key inputs (build-arg values, the expanded instruction) are keyed with a
// random salt per store, shared by the stores of one build (the cache repo's, adopted by
// --cache-dir), so the same secret value gives different keys in different stores, the same
// store keeps hitting, and the salt is never shown.

let reg: RunningRegistry;
let dir: string;
let ctx: string;

const SECRET = "hunter2-s3cret";
const DOCKERFILE = () =>
  `FROM ${reg.host}/test/busybox:latest\nARG TOKEN\nRUN echo "$TOKEN" | wc -c > /n\nRUN echo "${"$"}{TOKEN}x" > /t && rm /t\n`;

beforeAll(async () => {
  reg = await startRegistry();
  await pushBusybox(reg.host);
  dir = await mkdtemp(join(tmpdir(), "molt-e2e-cache-salt-"));
  ctx = await writeContext(join(dir, "ctx"), DOCKERFILE());
}, 120_000);
afterAll(async () => {
  await reg?.stop();
  await rm(dir, { recursive: true, force: true });
});

const build = (cache: string[], extra: string[] = []) =>
  cacheBuild(
    dir,
    [
      "-c",
      ctx,
      "--no-push",
      "--insecure-pull",
      "--insecure",
      "--build-arg",
      `TOKEN=${SECRET}`,
      ...cache,
      ...extra,
    ],
    { DEBUG: "molt:*" },
  );

/** The salt a registry cache repo keeps (tag `salt`), as hex. */
async function registrySalt(repo: string): Promise<string> {
  const r = await run("skopeo", [
    "inspect",
    "--tls-verify=false",
    "--raw",
    `docker://${reg.host}/${repo}:salt`,
  ]);
  return (JSON.parse(r.stdout) as { annotations: Record<string, string> }).annotations[
    "dev.molt.cache.salt"
  ]!;
}

describe("per-store key salt", () => {
  test("two directories: different keys for the same secret value; each hits itself; salt and value never shown", async () => {
    const a = join(dir, "cache-a");
    const b = join(dir, "cache-b");
    const a1 = await build(["--cache-dir", a]);
    const b1 = await build(["--cache-dir", b]);
    expect(a1.code, a1.stderr).toBe(0);
    expect(b1.code, b1.stderr).toBe(0);
    const saltA = (await readFile(join(a, "molt-cache", "salt"), "utf8")).trim();
    const saltB = (await readFile(join(b, "molt-cache", "salt"), "utf8")).trim();
    expect(saltA).toMatch(/^[0-9a-f]{64}$/);
    expect(saltB).not.toBe(saltA);
    for (const at of ["0/2", "0/3"]) {
      expect(a1.keys.get(at)).toMatch(/^sha256:[0-9a-f]{64}$/);
      expect(b1.keys.get(at)).not.toBe(a1.keys.get(at));
    }
    // Same store: every step hits, under the same keys.
    const a2 = await build(["--cache-dir", a]);
    expect(a2.code, a2.stderr).toBe(0);
    expect(a2.cached).toEqual(["0/2", "0/3"]);
    expect(a2.keys).toEqual(a1.keys);
    // The entries record the value and the expanded text by salted digest only.
    const entries = await run("sh", ["-c", `cat ${a}/molt-cache/keys/*.json`]);
    expect(entries.stdout).toContain('"arg:TOKEN"');
    expect(entries.stdout).not.toContain(SECRET);
    for (const r of [a1, b1, a2]) {
      expect(r.stderr).toMatch(/ molt:stage /); // DEBUG output is there to look through
      expect(r.stderr).not.toContain(saltA);
      expect(r.stderr).not.toContain(saltB);
      expect(r.stderr).not.toContain(SECRET);
    }
  });

  test("registry + directory: one salt (the cache repo's, adopted by the directory); the same keys either way", async () => {
    const repo = "salt/app/cache";
    const dirCache = join(dir, "cache-tier");
    const r1 = await build(["--cache=true", "--cache-repo", `${reg.host}/${repo}`]);
    expect(r1.code, r1.stderr).toBe(0);
    const salt = await registrySalt(repo);
    expect(salt).toMatch(/^[0-9a-f]{64}$/);
    // The directory had its own salt from an earlier build; the tier adopts the registry's.
    const own = await build(["--cache-dir", dirCache]);
    expect(own.code, own.stderr).toBe(0);
    expect((await readFile(join(dirCache, "molt-cache", "salt"), "utf8")).trim()).not.toBe(salt);
    const both = await build([
      "--cache-dir",
      dirCache,
      "--cache=true",
      "--cache-repo",
      `${reg.host}/${repo}`,
    ]);
    expect(both.code, both.stderr).toBe(0);
    expect((await readFile(join(dirCache, "molt-cache", "salt"), "utf8")).trim()).toBe(salt);
    expect(await registrySalt(repo)).toBe(salt);
    expect(both.cached).toEqual(["0/2", "0/3"]);
    expect(both.keys).toEqual(r1.keys);
    // The directory alone now keys like the registry (the tier took its hits from the registry,
    // so the directory has no entries under these keys yet: it misses, then hits).
    const dirAlone = await build(["--cache-dir", dirCache]);
    expect(dirAlone.keys).toEqual(r1.keys);
    const dirAgain = await build(["--cache-dir", dirCache]);
    expect(dirAgain.cached).toEqual(["0/2", "0/3"]);
    for (const r of [r1, both, dirAlone]) {
      expect(r.stderr).not.toContain(salt);
      expect(r.stderr).not.toContain(SECRET);
    }
  });

  test("a registry cache repo's first salt is kept: a later build adopts it, --no-push-cache writes none", async () => {
    const ro = await build(["--cache=true", "--cache-repo", `${reg.host}/salt/ro/cache`, "--no-push-cache"]);
    expect(ro.code, ro.stderr).toBe(0);
    const tags = await run(
      "skopeo",
      ["list-tags", "--tls-verify=false", `docker://${reg.host}/salt/ro/cache`],
      {
        allowFail: true,
      },
    );
    expect(tags.stdout).not.toContain('"salt"');
    const first = await build(["--cache=true", "--cache-repo", `${reg.host}/salt/rw/cache`]);
    const salt = await registrySalt("salt/rw/cache");
    const second = await build(["--cache=true", "--cache-repo", `${reg.host}/salt/rw/cache`]);
    expect(await registrySalt("salt/rw/cache")).toBe(salt);
    expect(second.cached).toEqual(["0/2", "0/3"]);
    expect(second.keys).toEqual(first.keys);
  });
});
