import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, inject, test } from "vitest";
import { run } from "../harness/exec.js";
import { molt } from "../harness/molt-cli.js";

const registry = inject("registry");
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "molt-e2e-onbuild-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

test("ONBUILD triggers are recorded, then run by a build FROM that image and consumed", async () => {
  const parent = join(dir, "parent");
  await mkdir(parent);
  await writeFile(
    join(parent, "Dockerfile"),
    `FROM ${registry}/test/busybox:latest\nONBUILD COPY app.txt /app/\nONBUILD RUN echo triggered > /app/ran\n`,
  );
  const parentRef = `${registry}/e2e/onbuild-parent:1`;
  expect((await molt(["build", "-c", parent, "-d", parentRef, "--insecure", "--insecure-pull"])).code).toBe(
    0,
  );
  const cfg = JSON.parse(
    (await run("skopeo", ["inspect", "--tls-verify=false", "--config", "--raw", `docker://${parentRef}`]))
      .stdout,
  ) as {
    config: { OnBuild?: string[] };
  };
  expect(cfg.config.OnBuild).toEqual(["COPY app.txt /app/", "RUN echo triggered > /app/ran"]);

  const child = join(dir, "child");
  await mkdir(child);
  await writeFile(join(child, "app.txt"), "from the child context\n");
  await writeFile(join(child, "Dockerfile"), `FROM ${parentRef}\nENV CHILD=1\n`);
  const layout = join(dir, "child-out");
  const r = await molt(["build", "-c", child, "--no-push", "--oci-layout-path", layout, "--insecure-pull"]);
  expect(r.stderr.split("\n").filter((l) => l.startsWith("molt: error"))).toEqual([]);
  expect(r.code).toBe(0);
  await run("umoci", ["unpack", "--image", `${layout}:latest`, join(dir, "bundle")]);
  expect(await readFile(join(dir, "bundle", "rootfs", "app", "app.txt"), "utf8")).toBe(
    "from the child context\n",
  );
  expect(await readFile(join(dir, "bundle", "rootfs", "app", "ran"), "utf8")).toBe("triggered\n");
  const childCfg = JSON.parse(
    (await run("skopeo", ["inspect", "--config", "--raw", `oci:${layout}:latest`])).stdout,
  ) as {
    config: { OnBuild?: string[] | null };
  };
  expect(childCfg.config.OnBuild ?? null).toBeNull();
}, 120_000);
