import { chmod, mkdir, mkdtemp, readFile, rm, stat, utimes, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, inject, test } from "vitest";
import { run } from "../harness/exec.js";
import { type GcsStandIn, startGcsStandIn } from "../harness/gcs-server.js";
import { type RunningGitDaemon, startGitDaemon } from "../harness/git-daemon.js";
import { molt } from "../harness/molt-cli.js";
import { makeTestPki } from "../harness/tls.js";

// The same small context, served by every kind of source, must build the same image: with
// --reproducible the layer digests (and so the manifest digest) are identical.
const registry = inject("registry");
let dir: string;
let gcs: GcsStandIn;
let git: RunningGitDaemon;
let https: Server;
let httpsUrl: string;
let caFile: string;

const DOCKERFILE = 'FROM scratch\nCOPY app /app/\nCOPY top.txt /\nCMD ["/app/run"]\n';

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "molt-e2e-ctx-"));
  const src = join(dir, "src");
  await mkdir(join(src, "app", "lib"), { recursive: true });
  await writeFile(join(src, "Dockerfile"), DOCKERFILE);
  await writeFile(join(src, "top.txt"), "top\n");
  await writeFile(join(src, "app", "run"), "#!/bin/sh\necho run\n");
  await chmod(join(src, "app", "run"), 0o755);
  await writeFile(join(src, "app", "lib", "a.txt"), "a\n");
  await writeFile(join(src, "app", "lib", "ignored.log"), "must not be copied\n");
  await writeFile(join(src, ".dockerignore"), "**/*.log\n");
  await run("sh", [
    "-c",
    `cd ${src} && tar -cf ${dir}/ctx.tar . && gzip -c ${dir}/ctx.tar > ${dir}/ctx.tar.gz`,
  ]);
  const tarGz = await readFile(join(dir, "ctx.tar.gz"));

  gcs = await startGcsStandIn();
  gcs.put("bucket", "builds/context.tar.gz", tarGz);

  git = await startGitDaemon();
  const ident = "-c user.name=molt -c user.email=molt@example.invalid";
  await run("sh", [
    "-c",
    `cp -a ${src} ${dir}/work && cd ${dir}/work && git init -q -b main && git add -A && git ${ident} commit -q -m ctx && git clone -q --bare . ${git.base}/ctx.git`,
  ]);

  const pki = await makeTestPki(await mkdtemp(join(dir, "pki-")));
  caFile = pki.caFile;
  https = createServer(
    { key: await readFile(pki.serverKeyFile), cert: await readFile(pki.serverCertFile) },
    (_req, res) => res.end(tarGz),
  );
  await new Promise<void>((r) => https.listen(0, "127.0.0.1", r));
  httpsUrl = `https://127.0.0.1:${(https.address() as AddressInfo).port}/ctx.tar.gz`;
});

afterAll(async () => {
  https?.close();
  await gcs?.stop();
  await git?.stop();
  await rm(dir, { recursive: true, force: true });
});

async function buildFrom(
  name: string,
  context: string,
  extra: { env?: NodeJS.ProcessEnv; input?: Buffer; args?: string[] } = {},
) {
  const dest = `${registry}/e2e/ctx-${name}:1`;
  const r = await molt(
    ["build", "-c", context, "-d", dest, "--insecure", "--reproducible", ...(extra.args ?? [])],
    {
      env: { ...process.env, ...(extra.env ?? {}) },
      ...(extra.input !== undefined ? { input: extra.input } : {}),
    },
  );
  expect(r.stderr).not.toMatch(/molt: error/);
  expect(r.code).toBe(0);
  return { dest, digest: r.stdout.trim() };
}

test("directory, tar://, tar://stdin, gs://, https:// and git:// contexts build the same image", async () => {
  const results: Record<string, string> = {};
  const dirBuild = await buildFrom("dir", join(dir, "src"));
  results.dir = dirBuild.digest;
  results.tar = (await buildFrom("tar", `tar://${join(dir, "ctx.tar.gz")}`)).digest;
  const tarBytes = await readFile(join(dir, "ctx.tar.gz"));
  results.stdin = (await buildFrom("stdin", "tar://stdin", { input: tarBytes })).digest;
  results.gs = (
    await buildFrom("gs", "gs://bucket/builds/context.tar.gz", {
      env: { STORAGE_EMULATOR_HOST: gcs.endpoint },
    })
  ).digest;
  results.https = (await buildFrom("https", httpsUrl, { env: { NODE_EXTRA_CA_CERTS: caFile } })).digest;
  results.git = (await buildFrom("git", `${git.url("ctx.git")}#main`)).digest;
  for (const [name, digest] of Object.entries(results)) {
    expect(digest, name).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(digest, name).toBe(results.dir);
  }

  // umoci judges the content: files copied, modes kept, the .dockerignore'd file left out.
  const layout = join(dir, "layout");
  await run("skopeo", [
    "copy",
    "--quiet",
    "--src-tls-verify=false",
    `docker://${dirBuild.dest}`,
    `oci:${layout}:x`,
  ]);
  await run("umoci", ["unpack", "--image", `${layout}:x`, join(dir, "bundle")]);
  const rootfs = join(dir, "bundle", "rootfs");
  expect(await readFile(join(rootfs, "top.txt"), "utf8")).toBe("top\n");
  expect(await readFile(join(rootfs, "app", "lib", "a.txt"), "utf8")).toBe("a\n");
  expect((await stat(join(rootfs, "app", "run"))).mode & 0o7777).toBe(0o755);
  await expect(stat(join(rootfs, "app", "lib", "ignored.log"))).rejects.toMatchObject({ code: "ENOENT" });
}, 180_000);

test("the https context is refused without the test CA: TLS is verified by default", async () => {
  const r = await molt(["build", "-c", httpsUrl, "--no-push"], {
    env: { ...process.env, NODE_EXTRA_CA_CERTS: "" },
  });
  expect(r.code).toBe(1);
  expect(r.stderr.trimEnd().split("\n").at(-1)).toMatch(/^molt: error: .*(certificate|self.signed|issuer)/i);
});

test("reproducible builds of one context agree across mtimes and working directories", async () => {
  const copy = join(dir, "copy");
  await run("cp", ["-a", join(dir, "src"), copy]);
  const old = new Date("2001-02-03T04:05:06Z");
  for (const f of ["top.txt", "app/run", "app/lib/a.txt"]) await utimes(join(copy, f), old, old);
  const a = await molt(
    ["build", "-c", join(dir, "src"), "--no-push", "--reproducible", "--oci-layout-path", join(dir, "ra")],
    {
      cwd: dir,
    },
  );
  const b = await molt(
    ["build", "-c", ".", "--no-push", "--reproducible", "--oci-layout-path", join(dir, "rb")],
    {
      cwd: copy,
    },
  );
  expect(a.code).toBe(0);
  expect(b.code).toBe(0);
  // mtimes of the copied files are clamped to SOURCE_DATE_EPOCH (0), so both trees give one image
  expect(a.stdout.trim()).toMatch(/^sha256:/);
  expect(b.stdout.trim()).toBe(a.stdout.trim());
});
