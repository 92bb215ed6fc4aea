import { lstat, mkdir, mkdtemp, readFile, rm, stat, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, test } from "vitest";
import { run } from "../harness/exec.js";
import { buildAndUnpack, molt } from "../harness/molt-cli.js";
import { freePort } from "../harness/registry.js";

// Dockerfile semantics where a review against BuildKit found molt wrong; each case is written from
// the Dockerfile reference.
const registry = inject("registry");
const BASE = `${registry}/test/busybox:latest`;
let dir: string;
let n = 0;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "molt-e2e-sem-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Builds `dockerfile` (plus files) to an OCI layout, unpacks it with umoci, returns rootfs and raw config. */
async function buildDockerfile(dockerfile: string, files: Record<string, string> = {}, args: string[] = []) {
  const ctx = join(dir, `c${++n}`);
  await mkdir(ctx);
  await writeFile(join(ctx, "Dockerfile"), dockerfile);
  for (const [p, c] of Object.entries(files)) await writeFile(join(ctx, p), c);
  const r = await buildAndUnpack(ctx, join(dir, `w${n}`), args);
  expect(r.stderr.split("\n").filter((l) => l.startsWith("molt: error"))).toEqual([]);
  expect(r.code).toBe(0);
  const config = JSON.parse(
    (await run("skopeo", ["inspect", "--config", "--raw", `oci:${r.layout}:latest`])).stdout,
  ) as {
    architecture: string;
    config: { Labels?: Record<string, string>; OnBuild?: string[] | null; Env?: string[] };
  };
  return { root: r.rootfs, config, stderr: r.stderr, ctx };
}

describe("COPY", () => {
  test("one file onto an existing directory lands inside it", async () => {
    const { root } = await buildDockerfile(`FROM ${BASE}\nCOPY f.txt /etc\n`, { "f.txt": "f\n" });
    expect(await readFile(join(root, "etc", "f.txt"), "utf8")).toBe("f\n");
    expect(await readFile(join(root, "etc", "passwd"), "utf8")).toContain("root:x:0:0");
  });

  test("a named symlink source is copied as the file it points to", async () => {
    const ctx = join(dir, "symsrc");
    await mkdir(ctx);
    await writeFile(join(ctx, "real.txt"), "real\n");
    await symlink("real.txt", join(ctx, "link.txt"));
    await writeFile(join(ctx, "Dockerfile"), "FROM scratch\nCOPY link.txt /l.txt\n");
    const out = join(dir, "symsrc-out");
    expect((await molt(["build", "-c", ctx, "--no-push", "--oci-layout-path", out])).code).toBe(0);
    await run("umoci", ["unpack", "--image", `${out}:latest`, join(dir, "symsrc-b")]);
    const l = join(dir, "symsrc-b", "rootfs", "l.txt");
    expect((await lstat(l)).isFile()).toBe(true);
    expect(await readFile(l, "utf8")).toBe("real\n");
  });
});

describe("WORKDIR", () => {
  test("creates the directory, owned by the current USER", async () => {
    const { root } = await buildDockerfile("FROM scratch\nUSER 1000:1000\nWORKDIR /data/x\n");
    for (const p of ["data", "data/x"]) {
      const st = await stat(join(root, p));
      expect(st.isDirectory()).toBe(true);
      expect([st.uid, st.gid, st.mode & 0o7777]).toEqual([1000, 1000, 0o755]);
    }
  });
});

describe("ARG", () => {
  test("platform ARGs follow --custom-platform, globally and in a stage", async () => {
    const { config } = await buildDockerfile(
      // biome-ignore lint/suspicious/noTemplateCurlyInString: Dockerfile text, not a JS template
      "ARG TARGETARCH\nARG T=x-${TARGETARCH}\nFROM scratch\nARG TARGETARCH\nARG T\nLABEL arch=[$TARGETARCH] t=$T\n",
      {},
      ["--custom-platform", "linux/arm64"],
    );
    expect(config.architecture).toBe("arm64");
    expect(config.config.Labels).toEqual({ arch: "[arm64]", t: "x-arm64" });
  });

  test("a stage based on another inherits its ARGs; proxy build args need no ARG line", async () => {
    const { root } = await buildDockerfile(
      `FROM ${BASE} AS a\nARG FOO=inherited\nFROM a\nRUN echo "$FOO $HTTP_PROXY" > /out\n`,
      {},
      ["--build-arg", "HTTP_PROXY=http://proxy.invalid:3128"],
    );
    expect(await readFile(join(root, "out"), "utf8")).toBe("inherited http://proxy.invalid:3128\n");
  });
});

test("ONBUILD triggers of a base stage run in the stage built on it and are not carried over", async () => {
  // Current BuildKit (dockerfile2llb resolveStages): a stage whose base is a stage runs that
  // stage's ONBUILD expressions as triggers; dispatchState.init clears the inherited OnBuild.
  // The base stage itself does not run them, and neither does a stage two steps away.
  const { root, config } = await buildDockerfile(
    `FROM ${BASE} AS base\nONBUILD RUN echo TRIGGERED >> /triggered\nFROM base AS mid\nRUN true\nFROM mid\nRUN true\n`,
  );
  expect(await readFile(join(root, "triggered"), "utf8")).toBe("TRIGGERED\n");
  expect(config.config.OnBuild ?? null).toBeNull();
});

test("with several destinations, one that fails leaves every tag untouched", async () => {
  const ctx = join(dir, "multi-dest");
  await mkdir(ctx);
  await writeFile(join(ctx, "Dockerfile"), "FROM scratch\nCOPY Dockerfile /\n");
  const good = `${registry}/e2e/multidest:1`;
  const dead = `127.0.0.1:${await freePort()}/e2e/multidest:1`;
  const r = await molt(["build", "-c", ctx, "-d", good, "-d", dead, "--insecure", "--push-retry", "0"]);
  expect(r.code).toBe(1);
  expect(r.stderr.trimEnd().split("\n").at(-1)).toContain(dead.split("/")[0]);
  const inspect = await run("skopeo", ["inspect", "--tls-verify=false", `docker://${good}`], {
    allowFail: true,
  });
  expect(inspect.code).not.toBe(0);
});
