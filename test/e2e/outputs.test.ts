import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, inject, test } from "vitest";
import { run } from "../harness/exec.js";
import { molt } from "../harness/molt-cli.js";
import { createPodman, type Podman } from "../harness/podman.js";

const registry = inject("registry");
let dir: string;
let ctx: string;
let podman: Podman;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "molt-e2e-out-"));
  ctx = join(dir, "ctx");
  await mkdir(ctx);
  await writeFile(join(ctx, "msg.txt"), "from the tarball\n");
  await writeFile(
    join(ctx, "Dockerfile"),
    `FROM ${registry}/test/busybox:latest\nCOPY msg.txt /msg.txt\nCMD ["cat", "/msg.txt"]\n`,
  );
  podman = await createPodman();
});
afterAll(async () => {
  await podman?.cleanup();
  await rm(dir, { recursive: true, force: true });
});

test("--tar-path writes a docker-archive that podman loads and runs, named after the destination", async () => {
  const tar = join(dir, "image.tar");
  const r = await molt([
    "build",
    "-c",
    ctx,
    "-d",
    "example.test/app:v1",
    "--no-push",
    "--tar-path",
    tar,
    "--insecure-pull",
  ]);
  expect(r.stderr).not.toMatch(/molt: error/);
  expect(r.code).toBe(0);
  const inspect = JSON.parse((await run("skopeo", ["inspect", `docker-archive:${tar}`])).stdout) as {
    Layers: string[];
  };
  expect(inspect.Layers).toHaveLength(2);
  const loaded = await podman.podman(["load", "-i", tar]);
  expect(loaded.stdout).toContain("example.test/app:v1");
  const out = await podman.runImage("example.test/app:v1");
  expect(out.stdout).toBe("from the tarball\n");
}, 120_000);

test("the name-with-digest files list every destination with the pushed digest", async () => {
  const d1 = `${registry}/e2e/names:one`;
  const d2 = `${registry}/e2e/other:two`;
  const f1 = join(dir, "name-digest");
  const f2 = join(dir, "name-tag-digest");
  const r = await molt([
    "build",
    "-c",
    ctx,
    "-d",
    d1,
    "-d",
    d2,
    "--insecure",
    "--insecure-pull",
    "--image-name-with-digest-file",
    f1,
    "--image-name-tag-with-digest-file",
    f2,
  ]);
  expect(r.code).toBe(0);
  const digest = r.stdout.trim();
  expect(await readFile(f1, "utf8")).toBe(
    `${registry}/e2e/names@${digest}\n${registry}/e2e/other@${digest}\n`,
  );
  expect(await readFile(f2, "utf8")).toBe(
    `${registry}/e2e/names:one@${digest}\n${registry}/e2e/other:two@${digest}\n`,
  );
});

test("the manifest follows the base image's format unless --image-format says otherwise", async () => {
  const oci = `${registry}/e2e/format:oci`;
  const docker = `${registry}/e2e/format:docker`;
  expect((await molt(["build", "-c", ctx, "-d", oci, "--insecure", "--insecure-pull"])).code).toBe(0);
  expect(
    (
      await molt([
        "build",
        "-c",
        ctx,
        "-d",
        docker,
        "--insecure",
        "--insecure-pull",
        "--image-format",
        "docker",
      ])
    ).code,
  ).toBe(0);
  const raw = async (ref: string) =>
    JSON.parse(
      (await run("skopeo", ["inspect", "--raw", "--tls-verify=false", `docker://${ref}`])).stdout,
    ) as {
      mediaType: string;
      config: { mediaType: string };
      layers: { mediaType: string }[];
    };
  const a = await raw(oci); // busybox was pushed by skopeo from an OCI layout: OCI
  expect(a.mediaType).toBe("application/vnd.oci.image.manifest.v1+json");
  expect(a.layers.map((l) => l.mediaType)).toEqual([
    "application/vnd.oci.image.layer.v1.tar+gzip",
    "application/vnd.oci.image.layer.v1.tar+gzip",
  ]);
  const b = await raw(docker);
  expect(b.mediaType).toBe("application/vnd.docker.distribution.manifest.v2+json");
  expect(b.config.mediaType).toBe("application/vnd.docker.container.image.v1+json");
  expect(b.layers.map((l) => l.mediaType)).toEqual([
    "application/vnd.docker.image.rootfs.diff.tar.gzip",
    "application/vnd.docker.image.rootfs.diff.tar.gzip",
  ]);
  // skopeo can copy the docker-format image, verifying every digest on the way
  await run("skopeo", [
    "copy",
    "--quiet",
    "--src-tls-verify=false",
    `docker://${docker}`,
    `oci:${join(dir, "fmt")}:x`,
  ]);
});
