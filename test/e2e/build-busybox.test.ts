import { chmod, mkdir, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, test } from "vitest";
import { run } from "../harness/exec.js";
import { molt } from "../harness/molt-cli.js";
import { createPodman, type Podman } from "../harness/podman.js";

const registry = inject("registry");
let dir: string;
let podman: Podman;

interface SkopeoConfig {
  config: {
    Env?: string[];
    Cmd?: string[];
    WorkingDir?: string;
    Labels?: Record<string, string>;
    ExposedPorts?: Record<string, object>;
  };
  rootfs: { diff_ids: string[] };
  history: { created_by?: string; empty_layer?: boolean }[];
  architecture: string;
  os: string;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "molt-e2e-busybox-"));
  const ctx = join(dir, "ctx");
  await mkdir(join(ctx, "conf"), { recursive: true });
  await writeFile(join(ctx, "hello.txt"), "hello e2e\n");
  await chmod(join(ctx, "hello.txt"), 0o644);
  await writeFile(join(ctx, "tool.sh"), "#!/bin/sh\necho tool\n");
  await chmod(join(ctx, "tool.sh"), 0o755);
  await writeFile(join(ctx, "conf", "x.conf"), "secret=no\n");
  await chmod(join(ctx, "conf", "x.conf"), 0o600);
  await writeFile(
    join(ctx, "Dockerfile"),
    [
      `FROM ${registry}/test/busybox:latest`,
      `ENV APP_HOME=/app GREETING="hi there"`,
      "WORKDIR $APP_HOME",
      "COPY hello.txt ./",
      "COPY tool.sh bin/",
      "COPY conf /etc/molt/",
      "LABEL stage=e2e",
      "EXPOSE 8080/tcp",
      `CMD ["cat", "/app/hello.txt"]`,
      "",
    ].join("\n"),
  );
  podman = await createPodman();
});

afterAll(async () => {
  await podman?.cleanup();
  await rm(dir, { recursive: true, force: true });
});

describe("FROM busybox + COPY + metadata, pushed to two destinations", () => {
  const dest1 = `${registry}/e2e/app:1`;
  const dest2 = `${registry}/e2e/app:latest`;
  let digest = "";

  beforeAll(async () => {
    const r = await molt([
      "build",
      "-c",
      join(dir, "ctx"),
      "-f",
      join(dir, "ctx", "Dockerfile"),
      "-d",
      dest1,
      "--destination",
      dest2,
      "--insecure",
      "--insecure-pull",
      "--digest-file",
      join(dir, "digest"),
      "--label",
      "extra=yes",
    ]);
    expect(r.stderr).not.toMatch(/error/i);
    expect(r.code).toBe(0);
    digest = r.stdout.trim();
  }, 120_000);

  test("the digest file, stdout and the registry agree on the manifest digest", async () => {
    expect(digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(await readFile(join(dir, "digest"), "utf8")).toBe(digest);
    for (const dest of [dest1, dest2]) {
      const r = await run("skopeo", [
        "inspect",
        "--tls-verify=false",
        "--format",
        "{{.Digest}}",
        `docker://${dest}`,
      ]);
      expect(r.stdout.trim()).toBe(digest);
    }
  });

  test("skopeo sees our config on top of busybox's", async () => {
    const r = await run("skopeo", ["inspect", "--tls-verify=false", "--config", `docker://${dest1}`]);
    const cfg = JSON.parse(r.stdout) as SkopeoConfig;
    expect(cfg.architecture).toBe("amd64");
    expect(cfg.os).toBe("linux");
    expect(cfg.config.Env).toEqual(["PATH=/bin", "APP_HOME=/app", "GREETING=hi there"]);
    expect(cfg.config.WorkingDir).toBe("/app");
    expect(cfg.config.Cmd).toEqual(["cat", "/app/hello.txt"]);
    expect(cfg.config.Labels).toEqual({ stage: "e2e", extra: "yes" });
    expect(cfg.config.ExposedPorts).toEqual({ "8080/tcp": {} });
    expect(cfg.rootfs.diff_ids).toHaveLength(5);
    const ours = cfg.history.slice(-8);
    // ENV, WORKDIR (creates /app: a layer), 3×COPY, LABEL, EXPOSE, CMD
    expect(ours.map((h) => h.empty_layer === true)).toEqual([
      true,
      false,
      false,
      false,
      false,
      true,
      true,
      true,
    ]);
    expect(ours[2]?.created_by).toContain("COPY hello.txt ./");
    expect(ours[4]?.created_by).toContain("COPY conf /etc/molt/");
  });

  test("the base layer is busybox's, unchanged, and our WORKDIR and three COPY layers follow", async () => {
    const base = JSON.parse(
      (await run("skopeo", ["inspect", "--tls-verify=false", `docker://${registry}/test/busybox:latest`]))
        .stdout,
    ) as { Layers: string[] };
    const ours = JSON.parse(
      (await run("skopeo", ["inspect", "--tls-verify=false", `docker://${dest1}`])).stdout,
    ) as {
      Layers: string[];
    };
    expect(ours.Layers).toHaveLength(5);
    expect(ours.Layers[0]).toBe(base.Layers[0]);
  });

  test("umoci unpacks the COPYed files with their content and modes on top of busybox", async () => {
    const layout = join(dir, "layout");
    await run("skopeo", [
      "copy",
      "--quiet",
      "--src-tls-verify=false",
      `docker://${dest1}`,
      `oci:${layout}:app`,
    ]);
    const bundle = join(dir, "bundle");
    await run("umoci", ["unpack", "--image", `${layout}:app`, bundle]);
    const rootfs = join(bundle, "rootfs");
    expect(await readFile(join(rootfs, "app", "hello.txt"), "utf8")).toBe("hello e2e\n");
    expect((await stat(join(rootfs, "app", "hello.txt"))).mode & 0o7777).toBe(0o644);
    expect(await readFile(join(rootfs, "app", "bin", "tool.sh"), "utf8")).toBe("#!/bin/sh\necho tool\n");
    expect((await stat(join(rootfs, "app", "bin", "tool.sh"))).mode & 0o7777).toBe(0o755);
    expect(await readFile(join(rootfs, "etc", "molt", "x.conf"), "utf8")).toBe("secret=no\n");
    expect((await stat(join(rootfs, "etc", "molt", "x.conf"))).mode & 0o7777).toBe(0o600);
    const owner = await stat(join(rootfs, "app", "hello.txt"));
    expect([owner.uid, owner.gid]).toEqual([0, 0]);
    // busybox from the base layer is still there
    expect((await stat(join(rootfs, "bin", "busybox"))).size).toBeGreaterThan(100_000);
    expect(await readFile(join(rootfs, "etc", "passwd"), "utf8")).toContain("user:x:1000:1000:");
  });

  test("podman runs the pushed image and prints the COPYed file", async () => {
    const r = await podman.runImage(dest1);
    expect(r.stdout).toBe("hello e2e\n");
  }, 120_000);
});

test("FROM a multi-platform index picks the linux/amd64 image", async () => {
  const ctx = join(dir, "multi");
  await mkdir(ctx, { recursive: true });
  await writeFile(join(ctx, "Dockerfile"), `FROM ${registry}/test/busybox:multi\nENV MULTI=1\n`);
  const dest = `${registry}/e2e/multi:1`;
  const r = await molt(["build", "-c", ctx, "-d", dest, "--insecure", "--insecure-pull"]);
  expect(r.code).toBe(0);
  const cfg = JSON.parse(
    (await run("skopeo", ["inspect", "--tls-verify=false", "--config", `docker://${dest}`])).stdout,
  ) as SkopeoConfig;
  expect(cfg.architecture).toBe("amd64");
  expect(cfg.config.Env).toEqual(["PATH=/bin", "MULTI=1"]);
});
