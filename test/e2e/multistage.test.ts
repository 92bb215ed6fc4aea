import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, inject, test } from "vitest";
import { run } from "../harness/exec.js";
import { buildAndUnpack, molt } from "../harness/molt-cli.js";

const registry = inject("registry");
let dir: string;
let ctx: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "molt-e2e-multi-"));
  ctx = join(dir, "ctx");
  await mkdir(ctx);
  await writeFile(
    join(ctx, "Dockerfile"),
    [
      `FROM ${registry}/test/busybox:latest AS Build`,
      "RUN mkdir /out && echo built > /out/artifact && chown 1000:1000 /out/artifact",
      "",
      `FROM ${registry}/test/busybox:latest AS unused`,
      "RUN echo this stage must never run && exit 1",
      "",
      "FROM scratch",
      "COPY --from=build /out/artifact /artifact",
      "COPY --from=0 /bin/busybox /bin/busybox",
      `COPY --from=${registry}/test/busybox:latest /etc/passwd /etc/`,
      "COPY --from=build --chown=7:8 /out/artifact /chowned",
      "",
    ].join("\n"),
  );
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

test("COPY --from a stage (by name, any case, and by index) and from an image; unused stages never run", async () => {
  const layout = join(dir, "out");
  const r = await molt(["build", "-c", ctx, "--no-push", "--oci-layout-path", layout, "--insecure-pull"]);
  expect(r.stderr).not.toContain("this stage must never run");
  expect(r.stderr.split("\n").filter((l) => l.startsWith("molt: error"))).toEqual([]);
  expect(r.code).toBe(0);
  await run("umoci", ["unpack", "--image", `${layout}:latest`, join(dir, "bundle")]);
  const root = join(dir, "bundle", "rootfs");
  expect(await readFile(join(root, "artifact"), "utf8")).toBe("built\n");
  const a = await stat(join(root, "artifact"));
  expect([a.uid, a.gid]).toEqual([1000, 1000]); // --from keeps the source's owner
  const c = await stat(join(root, "chowned"));
  expect([c.uid, c.gid]).toEqual([7, 8]);
  expect((await stat(join(root, "bin", "busybox"))).mode & 0o111).toBe(0o111);
  expect(await readFile(join(root, "etc", "passwd"), "utf8")).toContain("user:x:1000:1000:");
}, 120_000);

test("--target builds only the named stage", async () => {
  const r = await buildAndUnpack(ctx, join(dir, "target"), ["--target", "BUILD"]);
  expect(r.code).toBe(0);
  expect(await readFile(join(r.rootfs, "out", "artifact"), "utf8")).toBe("built\n");
});
