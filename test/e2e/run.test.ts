import { lstat, mkdir, mkdtemp, readFile, readlink, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { build } from "molt";
import { afterAll, beforeAll, describe, expect, inject, test } from "vitest";
import { writeContext } from "../harness/context-dir.js";
import { run } from "../harness/exec.js";
import { buildAndUnpack, molt } from "../harness/molt-cli.js";
import { createPodman, type Podman } from "../harness/podman.js";

const registry = inject("registry");
const BASE = `${registry}/test/busybox:latest`;
let dir: string;
let podman: Podman;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "molt-e2e-run-"));
  podman = await createPodman();
});
afterAll(async () => {
  await podman?.cleanup();
  await rm(dir, { recursive: true, force: true });
});

const context = (name: string, dockerfile: string, files: Record<string, string> = {}): Promise<string> =>
  writeContext(join(dir, name), dockerfile, files);

/** Pulls `ref` with skopeo into an OCI layout and unpacks it with umoci; returns the rootfs. */
async function unpack(ref: string, name: string): Promise<string> {
  const layout = join(dir, `${name}-layout`);
  await run("skopeo", ["copy", "--quiet", "--src-tls-verify=false", `docker://${ref}`, `oci:${layout}:x`]);
  await run("umoci", ["unpack", "--image", `${layout}:x`, join(dir, `${name}-bundle`)]);
  return join(dir, `${name}-bundle`, "rootfs");
}

interface Config {
  config: { Env?: string[] };
  rootfs: { diff_ids: string[] };
  history: { created_by?: string; empty_layer?: boolean }[];
}
async function config(ref: string): Promise<Config> {
  return JSON.parse(
    (await run("skopeo", ["inspect", "--tls-verify=false", "--config", `docker://${ref}`])).stdout,
  ) as Config;
}

describe("RUN on busybox: files, deletions, modes, links, users, env", () => {
  const dest = `${registry}/e2e/run:1`;
  let rootfs = "";

  beforeAll(async () => {
    const ctx = await context(
      "run1",
      [
        `FROM ${BASE}`,
        "ARG GREETING=hello",
        "ENV TARGET=/out",
        "WORKDIR /work",
        'RUN mkdir -p $TARGET && echo "$GREETING from $TARGET in $(pwd)" > $TARGET/msg',
        "RUN rm /etc/group.bak 2>/dev/null; rm -f /bin/vi",
        "RUN chmod 0700 /out && ln -s /out/msg /out/link",
        "RUN true",
        "USER 1000",
        "RUN echo mine > /home/user/owned && id -u > /home/user/uid",
        "USER root",
        'SHELL ["/bin/sh", "-ec"]',
        'RUN ["/bin/sh", "-c", "echo exec-form > /out/exec"]',
        'RUN test -n "$TARGET"; test -z "$NOT_SET"; echo "arg=$GREETING" > /out/args',
        'CMD ["cat", "/out/msg"]',
        "",
      ].join("\n"),
    );
    const r = await molt([
      "build",
      "-c",
      ctx,
      "-d",
      dest,
      "--insecure",
      "--insecure-pull",
      "--build-arg",
      "GREETING=hi",
    ]);
    expect(r.stderr).not.toMatch(/molt: error/);
    expect(r.code).toBe(0);
    rootfs = await unpack(dest, "run1");
  }, 180_000);

  test("files a RUN creates land in the image, with ENV, ARG and WORKDIR visible to it", async () => {
    expect(await readFile(join(rootfs, "out", "msg"), "utf8")).toBe("hi from /out in /work\n");
    expect(await readFile(join(rootfs, "out", "args"), "utf8")).toBe("arg=hi\n");
    expect(await readFile(join(rootfs, "out", "exec"), "utf8")).toBe("exec-form\n");
    expect((await stat(join(rootfs, "work"))).isDirectory()).toBe(true);
  });

  test("a deletion becomes a whiteout that umoci applies", async () => {
    await expect(lstat(join(rootfs, "bin", "vi"))).rejects.toMatchObject({ code: "ENOENT" });
    expect((await lstat(join(rootfs, "bin", "sh"))).isSymbolicLink()).toBe(true);
  });

  test("chmod and symlinks survive", async () => {
    expect((await stat(join(rootfs, "out"))).mode & 0o7777).toBe(0o700);
    expect(await readlink(join(rootfs, "out", "link"))).toBe("/out/msg");
  });

  test("a file written by RUN as uid 1000 is owned by 1000", async () => {
    const st = await stat(join(rootfs, "home", "user", "owned"));
    expect([st.uid, st.gid]).toEqual([1000, 1000]);
    expect(await readFile(join(rootfs, "home", "user", "uid"), "utf8")).toBe("1000\n");
  });

  test("ARGs are not persisted; RUN true adds no layer", async () => {
    const cfg = await config(dest);
    expect(cfg.config.Env).toEqual(["PATH=/bin", "TARGET=/out"]);
    const runTrue = cfg.history.find((h) => h.created_by === "RUN true");
    expect(runTrue?.empty_layer).toBe(true);
    // busybox's 1 layer + 6 RUNs that changed files (RUN true changed nothing)
    expect(cfg.rootfs.diff_ids).toHaveLength(8); // + WORKDIR /work
  });

  test("podman runs the image", async () => {
    const r = await podman.runImage(dest);
    expect(r.stdout).toBe("hi from /out in /work\n");
  }, 120_000);
});

test("a RUN exiting 42 fails the build naming the code; nothing is pushed", async () => {
  const ctx = await context("run42", `FROM ${BASE}\nRUN echo before && exit 42\n`);
  const dest = `${registry}/e2e/run42:1`;
  const r = await molt(["build", "-c", ctx, "-d", dest, "--insecure", "--insecure-pull"]);
  expect(r.code).toBe(1);
  const last = r.stderr.trimEnd().split("\n").at(-1)!;
  expect(last).toMatch(/^molt: error: .*Dockerfile:2:1: .*42/);
  expect(r.stderr).toContain("before");
  const inspect = await run("skopeo", ["inspect", "--tls-verify=false", `docker://${dest}`], {
    allowFail: true,
  });
  expect(inspect.code).not.toBe(0);
});

test("aborting a build mid-RUN kills the command and leaves no mount or temp dir behind", async () => {
  const tmp = join(dir, "abort-tmp");
  await mkdir(tmp);
  const ctx = await context("abort", `FROM ${BASE}\nRUN echo started && sleep 37\n`);
  const controller = new AbortController();
  const started = Date.now();
  const p = build({
    context: ctx,
    noPush: true,
    ociLayoutPath: join(dir, "abort-out"),
    registries: { "*": { pull: { insecure: true } } },
    tmpDir: tmp,
    signal: controller.signal,
    onProgress: (e) => {
      if (e.type === "molt:step:log" && e.lines.some((l) => l.includes("started"))) controller.abort();
    },
  });
  await expect(p).rejects.toMatchObject({ code: "MOLT_ABORTED" });
  expect(Date.now() - started).toBeLessThan(20_000);
  const mounts = await readFile("/proc/self/mountinfo", "utf8");
  expect(mounts).not.toContain(tmp);
  const { readdir } = await import("node:fs/promises");
  expect(await readdir(tmp)).toEqual([]);
  const ps = await run("ps", ["-eo", "args"]);
  // 37 s: parallel.test.ts runs its own `sleep 30` at the same time, which this check must not see
  expect(ps.stdout).not.toMatch(/sleep 37/);
}, 60_000);

test("--ignore-path keeps a RUN's changes under that path out of the layer", async () => {
  const ctx = await context(
    "ignore",
    `FROM ${BASE}\nRUN mkdir -p /cache /kept && echo x > /cache/big && echo y > /kept/file\n`,
  );
  const r = await buildAndUnpack(ctx, join(dir, "ignore"), ["--ignore-path", "/cache"]);
  expect(r.code).toBe(0);
  const root = r.rootfs;
  expect(await readFile(join(root, "kept", "file"), "utf8")).toBe("y\n");
  await expect(lstat(join(root, "cache", "big"))).rejects.toMatchObject({ code: "ENOENT" });
});
