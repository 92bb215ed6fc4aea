import { execFileSync } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, test } from "vitest";
import { type FaultProxy, startFaultProxy } from "../harness/fault-proxy.js";
import { molt } from "../harness/molt-cli.js";
import { freePort, type RunningRegistry, startRegistry } from "../harness/registry.js";

// Issue 15 item 8: destinations are parsed and checked before the first step, not after the
// whole build ("-d host:99999/x" failed with "Invalid URL" once everything was built).

const registry = inject("registry");
let dir: string;
let ctx: string;
let authReg: RunningRegistry;
let proxy: FaultProxy;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "molt-e2e-dest-"));
  ctx = join(dir, "ctx");
  await mkdir(ctx);
  await writeFile(join(ctx, "f"), "x\n");
  await writeFile(join(ctx, "Dockerfile"), "FROM scratch\nCOPY f /f\nLABEL a=b\n");
  await writeFile(
    join(dir, "htpasswd"),
    execFileSync("htpasswd", ["-Bbn", "dana", "dana-pass-7"], { encoding: "utf8" }),
  );
  authReg = await startRegistry({
    authYaml: `  htpasswd:\n    realm: molt-test\n    path: ${join(dir, "htpasswd")}`,
  });
  proxy = await startFaultProxy(registry);
});
afterAll(async () => {
  await Promise.all([authReg?.stop(), proxy?.stop()]);
  await rm(dir, { recursive: true, force: true });
});

const lastLine = (s: string) => s.trim().split("\n").at(-1) ?? "";

describe("destinations are validated before the first step", () => {
  test.each([
    [
      "a port out of range",
      "127.0.0.1:99999/x",
      /invalid port 99999 in registry "127\.0\.0\.1:99999" \(1-65535\)/,
    ],
    ["port 0", "127.0.0.1:0/x", /invalid port 0/],
    ["an upper-case repository", "127.0.0.1:5000/Bad/Name", /repository name must be lowercase/],
    ["a bad tag", "127.0.0.1:5000/x:-bad", /invalid tag "-bad"/],
  ])("%s: one line, no step run", async (_name, dest, message) => {
    const r = await molt(["build", "-c", ctx, "-d", dest, "--insecure"]);
    expect(r.code).toBe(1);
    expect(lastLine(r.stderr)).toMatch(message);
    expect(lastLine(r.stderr)).toMatch(/\[MOLT_INVALID_REFERENCE\]$/);
    expect(r.stderr).not.toMatch(/COPY f \/f|LABEL a=b/);
  });

  test("a destination that refuses anonymous pushes fails before the first step", async () => {
    const r = await molt(["build", "-c", ctx, "-d", `${authReg.host}/team/app:1`, "--insecure"], {
      env: {
        ...process.env,
        DOCKER_CONFIG: join(dir, "no-docker-config"),
        REGISTRY_AUTH_FILE: join(dir, "none.json"),
      },
    });
    expect(r.code).toBe(1);
    expect(lastLine(r.stderr)).toMatch(
      new RegExp(
        `^molt: error: check push permission to ${authReg.host}/team/app: .*authentication.*\\[MOLT_REGISTRY_AUTH\\]$`,
      ),
    );
    expect(r.stderr).not.toMatch(/COPY f \/f/);
  });

  test("--skip-push-permission-check builds first and fails at the push", async () => {
    const r = await molt(
      ["build", "-c", ctx, "-d", `${authReg.host}/team/app:1`, "--insecure", "--skip-push-permission-check"],
      {
        env: {
          ...process.env,
          DOCKER_CONFIG: join(dir, "no-docker-config"),
          REGISTRY_AUTH_FILE: join(dir, "none.json"),
        },
      },
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/LABEL a=b/);
    expect(lastLine(r.stderr)).toMatch(/\[MOLT_REGISTRY_AUTH\]$/);
    expect(lastLine(r.stderr)).not.toMatch(/check push permission/);
  });

  test("an unreachable destination fails before the first step", async () => {
    const port = await freePort();
    const r = await molt([
      "build",
      "-c",
      ctx,
      "-d",
      `127.0.0.1:${port}/x:1`,
      "--insecure",
      "--push-retry",
      "0",
    ]);
    expect(r.code).toBe(1);
    expect(lastLine(r.stderr)).toMatch(
      new RegExp(`^molt: error: check push permission to 127\\.0\\.0\\.1:${port}/x: cannot reach registry`),
    );
    expect(r.stderr).not.toMatch(/COPY f \/f/);
  });

  describe("the cache repositories are checked too (kaniko checks --cache-repo)", () => {
    /** A docker config holding a wrong password for the auth registry. */
    const wrongPassword = async () => {
      const cfg = join(dir, "wrong-docker-config");
      await mkdir(cfg, { recursive: true });
      const auth = Buffer.from("dana:not-her-password").toString("base64");
      await writeFile(join(cfg, "config.json"), JSON.stringify({ auths: { [authReg.host]: { auth } } }));
      return { ...process.env, DOCKER_CONFIG: cfg, REGISTRY_AUTH_FILE: join(dir, "none.json") };
    };

    test.each([
      ["--cache-repo (wrong password)", ["--cache=true", "--cache-repo"], "team/cache"],
      ["--cache-mount-repo (wrong password)", ["--cache-mount-repo"], "team/mounts"],
    ])("%s: fails before the first step", async (_name, flags, repo) => {
      const r = await molt(
        [
          "build",
          "-c",
          ctx,
          "-d",
          `${registry}/dest/cache-ok:1`,
          "--insecure",
          ...flags,
          `${authReg.host}/${repo}`,
        ],
        { env: await wrongPassword() },
      );
      expect(r.code).toBe(1);
      expect(lastLine(r.stderr)).toMatch(
        new RegExp(
          `^molt: error: check push permission to ${authReg.host}/${repo}: .*authentication.*\\[MOLT_REGISTRY_AUTH\\]$`,
        ),
      );
      expect(r.stderr).not.toMatch(/COPY f \/f/);
      expect(r.stderr).not.toContain("not-her-password");
    });

    test("--skip-push-permission-check skips the cache repository's check too", async () => {
      const r = await molt(
        [
          "build",
          "-c",
          ctx,
          "-d",
          `${registry}/dest/cache-skip:1`,
          "--insecure",
          "--cache-mount-repo",
          `${authReg.host}/team/mounts`,
          "--skip-push-permission-check",
        ],
        { env: await wrongPassword() },
      );
      expect(r.stderr).toMatch(/LABEL a=b/);
      expect(r.stderr).not.toMatch(/check push permission/);
    });
  });

  test("the check starts an upload and cancels it, before any blob is pushed", async () => {
    const before = proxy.seen.length;
    const r = await molt(["build", "-c", ctx, "-d", `${proxy.host}/dest/checked:1`, "--insecure"]);
    expect(r.code, r.stderr).toBe(0);
    const seen = proxy.seen.slice(before).map((s) => `${s.method} ${s.url.split("?")[0]}`);
    const post = seen.indexOf("POST /v2/dest/checked/blobs/uploads/");
    expect(post).toBeGreaterThanOrEqual(0);
    expect(seen[post + 1]).toMatch(/^DELETE \/v2\/dest\/checked\/blobs\/uploads\/[\w-]+$/);
    expect(seen.slice(0, post).filter((s) => s.startsWith("HEAD") || s.startsWith("PUT"))).toEqual([]);
  });
});
