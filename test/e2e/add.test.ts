import { lstat, mkdir, mkdtemp, readFile, readlink, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, inject, test } from "vitest";
import { run } from "../harness/exec.js";
import { molt } from "../harness/molt-cli.js";

const registry = inject("registry");
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "molt-e2e-add-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

test("ADD unpacks local archives (gzip, xz) keeping their owners, copies other files, and honours --unpack=false", async () => {
  const ctx = join(dir, "ctx");
  const tree = join(dir, "tree");
  await mkdir(join(tree, "pkg", "bin"), { recursive: true });
  await writeFile(join(tree, "pkg", "bin", "tool"), "tool\n");
  await writeFile(join(tree, "pkg", "README"), "readme\n");
  await mkdir(ctx);
  // GNU tar makes the archives, with owners that only an unpacking ADD keeps.
  await run("sh", [
    "-c",
    `cd ${tree} && ln -s bin/tool pkg/tool-link && tar --owner=1234 --group=5678 -czf ${ctx}/pkg.tar.gz pkg && tar --owner=1234 --group=5678 -cJf ${ctx}/pkg.tar.xz pkg`,
  ]);
  await writeFile(join(ctx, "plain.txt"), "plain\n");
  await writeFile(
    join(ctx, "Dockerfile"),
    [
      `FROM ${registry}/test/busybox:latest`,
      "ADD pkg.tar.gz /opt/",
      "ADD pkg.tar.xz /xz/",
      "ADD --unpack=false pkg.tar.gz /kept/",
      "ADD --chown=user:staff plain.txt /srv/",
      "",
    ].join("\n"),
  );
  const layout = join(dir, "out");
  const r = await molt(["build", "-c", ctx, "--no-push", "--oci-layout-path", layout, "--insecure-pull"]);
  expect(r.stderr.split("\n").filter((l) => l.startsWith("molt: error"))).toEqual([]);
  expect(r.code).toBe(0);
  await run("umoci", ["unpack", "--image", `${layout}:latest`, join(dir, "bundle")]);
  const root = join(dir, "bundle", "rootfs");
  for (const top of ["opt", "xz"]) {
    expect(await readFile(join(root, top, "pkg", "bin", "tool"), "utf8")).toBe("tool\n");
    const st = await stat(join(root, top, "pkg", "README"));
    expect([st.uid, st.gid]).toEqual([1234, 5678]);
    expect(await readlink(join(root, top, "pkg", "tool-link"))).toBe("bin/tool");
  }
  expect((await lstat(join(root, "kept", "pkg.tar.gz"))).isFile()).toBe(true);
  expect(await readFile(join(root, "kept", "pkg.tar.gz"))).toEqual(await readFile(join(ctx, "pkg.tar.gz")));
  const plain = await stat(join(root, "srv", "plain.txt"));
  expect([plain.uid, plain.gid]).toEqual([1000, 50]); // user:staff from the image's passwd/group
  // /tmp keeps busybox's 1777 even though COPY/ADD layers carry parent directories
  expect((await stat(join(root, "tmp"))).mode & 0o7777).toBe(0o1777);
}, 120_000);

test("ADD of an archive whose entries climb out with ../ writes nothing outside and fails or stays inside", async () => {
  const ctx = join(dir, "hostile");
  await mkdir(join(ctx, "x"), { recursive: true });
  await writeFile(join(ctx, "x", "evil.txt"), "evil\n");
  await run("sh", [
    "-c",
    `cd ${ctx}/x && tar -czf ${ctx}/evil.tar.gz --transform 's,^,../../../../../../tmp/molt-escape-,' evil.txt`,
  ]);
  await writeFile(join(ctx, "Dockerfile"), "FROM scratch\nADD evil.tar.gz /in/\n");
  await rm("/tmp/molt-escape-evil.txt", { force: true });
  const r = await molt(["build", "-c", ctx, "--no-push", "--oci-layout-path", join(dir, "evil-out")]);
  await expect(stat("/tmp/molt-escape-evil.txt")).rejects.toMatchObject({ code: "ENOENT" });
  if (r.code === 0) {
    await run("umoci", ["unpack", "--image", `${join(dir, "evil-out")}:latest`, join(dir, "evil-bundle")]);
    expect(
      await readFile(join(dir, "evil-bundle", "rootfs", "in", "tmp", "molt-escape-evil.txt"), "utf8"),
    ).toBe("evil\n");
  } else {
    expect(r.stderr.trimEnd().split("\n").at(-1)).toMatch(/^molt: error: .*(unsafe|outside|\.\.)/i);
  }
});

test("ADD of an https URL downloads it (TLS verified, mode 0600, not unpacked) and checks --checksum", async () => {
  const { createServer } = await import("node:https");
  const { makeTestPki } = await import("../harness/tls.js");
  const { createHash } = await import("node:crypto");
  const pki = await makeTestPki(await mkdtemp(join(dir, "pki-")));
  const body = Buffer.from("downloaded payload\n");
  const server = createServer(
    { key: await readFile(pki.serverKeyFile), cert: await readFile(pki.serverCertFile) },
    (_req, res) => res.end(body),
  );
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  try {
    const url = `https://127.0.0.1:${(server.address() as { port: number }).port}/files/payload.txt`;
    const sum = `sha256:${createHash("sha256").update(body).digest("hex")}`;
    const ctx = join(dir, "url");
    await mkdir(ctx);
    await writeFile(join(ctx, "Dockerfile"), `FROM scratch\nADD --checksum=${sum} ${url} /dl/\n`);
    const env = { ...process.env, NODE_EXTRA_CA_CERTS: pki.caFile };
    const layout = join(dir, "url-out");
    const r = await molt(["build", "-c", ctx, "--no-push", "--oci-layout-path", layout], { env });
    expect(r.stderr.split("\n").filter((l) => l.startsWith("molt: error"))).toEqual([]);
    expect(r.code).toBe(0);
    await run("umoci", ["unpack", "--image", `${layout}:latest`, join(dir, "url-bundle")]);
    const file = join(dir, "url-bundle", "rootfs", "dl", "payload.txt");
    expect(await readFile(file, "utf8")).toBe("downloaded payload\n");
    expect((await stat(file)).mode & 0o7777).toBe(0o600);

    await writeFile(
      join(ctx, "Dockerfile"),
      `FROM scratch\nADD --checksum=sha256:${"0".repeat(64)} ${url} /dl/\n`,
    );
    const bad = await molt(["build", "-c", ctx, "--no-push", "--oci-layout-path", join(dir, "url-bad")], {
      env,
    });
    expect(bad.code).toBe(1);
    expect(bad.stderr.trimEnd().split("\n").at(-1)).toMatch(/Dockerfile:2:1: ADD .*checksum/);

    await writeFile(join(ctx, "Dockerfile"), `FROM scratch\nADD ${url} /dl/\n`);
    const untrusted = await molt([
      "build",
      "-c",
      ctx,
      "--no-push",
      "--oci-layout-path",
      join(dir, "url-untrusted"),
    ]);
    expect(untrusted.code).toBe(1);
    expect(untrusted.stderr.trimEnd().split("\n").at(-1)).toMatch(/certificate|self.signed|issuer/i);
  } finally {
    server.close();
  }
});
