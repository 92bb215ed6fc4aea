import { execFileSync } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, inject, test } from "vitest";
import { run } from "../harness/exec.js";
import { molt } from "../harness/molt-cli.js";
import { type RunningRegistry, requireBinary, startRegistry } from "../harness/registry.js";

const registry = inject("registry");
const PASSWORD = "s3cret-pass-word";
let dir: string;
let authed: RunningRegistry;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  requireBinary("htpasswd", "Debian package apache2-utils");
  dir = await mkdtemp(join(tmpdir(), "molt-e2e-login-"));
  await writeFile(
    join(dir, "htpasswd"),
    execFileSync("htpasswd", ["-Bbn", "alice", PASSWORD], { encoding: "utf8" }),
  );
  authed = await startRegistry({
    authYaml: `  htpasswd:\n    realm: molt-test\n    path: ${join(dir, "htpasswd")}`,
  });
  // A HOME of our own: the machine's docker config is never read or written.
  env = { ...process.env, HOME: join(dir, "home"), DOCKER_CONFIG: join(dir, "docker") };
  await mkdir(join(dir, "home"));
});
afterAll(async () => {
  await authed?.stop();
  await rm(dir, { recursive: true, force: true });
});

test("molt login checks the password with the registry and writes config.json as docker login does", async () => {
  const wrong = await molt(["login", authed.host, "-u", "alice", "--password-stdin", "--insecure"], {
    env,
    input: "not-the-password\n",
  });
  expect(wrong.code).toBe(1);
  expect(wrong.stderr).toMatch(/MOLT_REGISTRY_AUTH|unauthorized|401/i);
  expect(wrong.stderr).not.toContain("not-the-password");
  await expect(stat(join(dir, "docker", "config.json"))).rejects.toThrow(/ENOENT/);

  // Something else already in the file is kept.
  await mkdir(join(dir, "docker"));
  await writeFile(
    join(dir, "docker", "config.json"),
    JSON.stringify({ auths: { "other.example": { auth: "eDp5" } }, psFormat: "x" }),
  );
  const ok = await molt(["login", authed.host, "-u", "alice", "--password-stdin", "--insecure"], {
    env,
    input: `${PASSWORD}\n`,
  });
  expect(ok.stderr).toMatch(/Login Succeeded/);
  expect(ok.code).toBe(0);
  expect(ok.stdout + ok.stderr).not.toContain(PASSWORD);
  const file = join(dir, "docker", "config.json");
  expect((await stat(file)).mode & 0o777).toBe(0o600);
  const doc = JSON.parse(await readFile(file, "utf8"));
  expect(doc).toEqual({
    auths: {
      "other.example": { auth: "eDp5" },
      [authed.host]: { auth: Buffer.from(`alice:${PASSWORD}`).toString("base64") },
    },
    psFormat: "x",
  });
  // skopeo reads the same file (docker's format) and is let in with it.
  const inspect = await run("skopeo", ["login", "--get-login", "--authfile", file, authed.host], {
    allowFail: true,
  });
  expect(inspect.stdout.trim()).toBe("alice");
}, 60_000);

test("a build pushes with the stored login; molt logout removes it", async () => {
  const ctx = join(dir, "ctx");
  await mkdir(ctx, { recursive: true });
  await writeFile(join(ctx, "Dockerfile"), `FROM ${registry}/test/busybox:latest\nLABEL logged=in\n`);
  const dest = `${authed.host}/team/app:1`;
  const built = await molt(["build", "-c", ctx, "-d", dest, "--insecure", "--insecure-pull"], { env });
  expect(built.stderr).not.toMatch(/molt: error/);
  expect(built.code).toBe(0);
  const seen = await run("skopeo", [
    "inspect",
    "--tls-verify=false",
    "--creds",
    `alice:${PASSWORD}`,
    `docker://${dest}`,
  ]);
  expect(JSON.parse(seen.stdout).Digest).toBe(built.stdout.trim());

  const out = await molt(["logout", authed.host], { env });
  expect(out.code).toBe(0);
  const doc = JSON.parse(await readFile(join(dir, "docker", "config.json"), "utf8"));
  expect(Object.keys(doc.auths)).toEqual(["other.example"]);
  const again = await molt(
    ["build", "-c", ctx, "-d", `${authed.host}/team/app:2`, "--insecure", "--insecure-pull"],
    {
      env,
    },
  );
  expect(again.code).toBe(1);
  expect(again.stderr).toMatch(/MOLT_REGISTRY_AUTH/);
}, 90_000);

// A credential helper speaking docker's protocol (docker-credential-helpers' `store`, `get`,
// `erase`, JSON on stdin/stdout, "credentials not found" on a miss), keeping logins in a file.
const HELPER = `#!/usr/bin/env node
const fs = require("node:fs");
const file = process.env.MOLT_TEST_HELPER_STORE;
const db = fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, "utf8")) : {};
let input = "";
process.stdin.on("data", (d) => (input += d));
process.stdin.on("end", () => {
  const action = process.argv[2];
  fs.appendFileSync(file + ".log", action + "\\n");
  if (action === "store") {
    const c = JSON.parse(input);
    db[c.ServerURL] = { Username: c.Username, Secret: c.Secret };
  } else if (action === "get" || action === "erase") {
    const url = input.trim();
    if (!db[url]) { process.stdout.write("credentials not found in native keychain\\n"); process.exit(1); }
    if (action === "get") process.stdout.write(JSON.stringify({ ServerURL: url, ...db[url] }));
    else delete db[url];
  } else process.exit(2);
  fs.writeFileSync(file, JSON.stringify(db));
});
`;

test("with a credsStore, molt login stores into the helper (config.json keeps no secret), a build gets it back, and logout erases it", async () => {
  const home = join(dir, "helper-home");
  const bin = join(dir, "helper-bin");
  await mkdir(join(home, "docker"), { recursive: true });
  await mkdir(bin, { recursive: true });
  await writeFile(join(bin, "docker-credential-molt-test"), HELPER, { mode: 0o755 });
  const store = join(dir, "helper-store.json");
  const henv = {
    ...process.env,
    HOME: home,
    DOCKER_CONFIG: join(home, "docker"),
    PATH: `${bin}:${process.env.PATH}`,
    MOLT_TEST_HELPER_STORE: store,
  };
  const file = join(home, "docker", "config.json");
  await writeFile(file, JSON.stringify({ credsStore: "molt-test", psFormat: "y" }));

  const ok = await molt(["login", authed.host, "-u", "alice", "--password-stdin", "--insecure"], {
    env: henv,
    input: `${PASSWORD}\n`,
  });
  expect(ok.stderr).toMatch(/Login Succeeded \(credentials stored by docker-credential-molt-test\)/);
  expect(ok.code).toBe(0);
  // the helper holds the login under the server, as docker login stores it
  expect(JSON.parse(await readFile(store, "utf8"))).toEqual({
    [authed.host]: { Username: "alice", Secret: PASSWORD },
  });
  // config.json names the registry with no credential in it, and keeps its other fields
  const text = await readFile(file, "utf8");
  expect(JSON.parse(text)).toEqual({ credsStore: "molt-test", psFormat: "y", auths: { [authed.host]: {} } });
  expect(text).not.toContain(Buffer.from(`alice:${PASSWORD}`).toString("base64"));
  expect(text).not.toContain(PASSWORD);

  // a build pushes with it: the credential chain asks the same helper (`get`)
  const ctx = join(dir, "ctx-helper");
  await mkdir(ctx, { recursive: true });
  await writeFile(join(ctx, "Dockerfile"), `FROM ${registry}/test/busybox:latest\nLABEL helper=yes\n`);
  const dest = `${authed.host}/team/helper:1`;
  const built = await molt(["build", "-c", ctx, "-d", dest, "--insecure", "--insecure-pull"], { env: henv });
  expect(built.stderr).not.toMatch(/molt: error/);
  expect(built.code).toBe(0);
  const seen = await run("skopeo", [
    "inspect",
    "--tls-verify=false",
    "--creds",
    `alice:${PASSWORD}`,
    `docker://${dest}`,
  ]);
  expect(JSON.parse(seen.stdout).Digest).toBe(built.stdout.trim());

  const out = await molt(["logout", authed.host], { env: henv });
  expect(out.code).toBe(0);
  expect(JSON.parse(await readFile(store, "utf8"))).toEqual({});
  expect(JSON.parse(await readFile(file, "utf8"))).toEqual({
    credsStore: "molt-test",
    psFormat: "y",
    auths: {},
  });
  const calls = (await readFile(`${store}.log`, "utf8")).trim().split("\n");
  expect(calls[0]).toBe("store");
  expect(calls).toContain("get");
  expect(calls.at(-1)).toBe("erase");
}, 90_000);

test("molt push sends an OCI layout and a docker archive to several destinations", async () => {
  const ctx = join(dir, "ctx2");
  await mkdir(ctx, { recursive: true });
  await writeFile(join(ctx, "f"), "pushed later\n");
  await writeFile(join(ctx, "Dockerfile"), `FROM ${registry}/test/busybox:latest\nCOPY f /f\n`);
  const layout = join(dir, "layout");
  const archive = join(dir, "image.tar");
  const built = await molt([
    "build",
    "-c",
    ctx,
    "--no-push",
    "--insecure-pull",
    "--oci-layout-path",
    layout,
    "--tar-path",
    archive,
    "-d",
    "example.test/app:v1",
  ]);
  expect(built.code).toBe(0);
  const digest = built.stdout.trim();

  const d1 = `${registry}/pushed/layout:a`;
  const d2 = `${registry}/pushed/layout-two:b`;
  const p = await molt(["push", `oci:${layout}:v1`, "-d", d1, "-d", d2, "--insecure"]);
  expect(p.stderr).not.toMatch(/molt: error/);
  expect(p.code).toBe(0);
  expect(p.stdout.trim()).toBe(digest);
  for (const d of [d1, d2]) {
    const i = JSON.parse((await run("skopeo", ["inspect", "--tls-verify=false", `docker://${d}`])).stdout);
    expect(i.Digest).toBe(digest);
  }

  // A docker archive (as podman load reads it) becomes the same image: same config, same layers' content.
  const d3 = `${registry}/pushed/archive:c`;
  const a = await molt(["push", archive, "-d", d3, "--insecure"]);
  expect(a.stderr).not.toMatch(/molt: error/);
  expect(a.code).toBe(0);
  const fromArchive = JSON.parse(
    (await run("skopeo", ["inspect", "--config", "--tls-verify=false", `docker://${d3}`])).stdout,
  );
  const fromLayout = JSON.parse((await run("skopeo", ["inspect", "--config", `oci:${layout}:v1`])).stdout);
  expect(fromArchive.rootfs.diff_ids).toEqual(fromLayout.rootfs.diff_ids);
  const unpack = join(dir, "unpacked");
  await run("skopeo", ["copy", "--src-tls-verify=false", `docker://${d3}`, `oci:${join(dir, "copy")}:x`]);
  await run("umoci", ["unpack", "--image", `${join(dir, "copy")}:x`, unpack]);
  expect(await readFile(join(unpack, "rootfs", "f"), "utf8")).toBe("pushed later\n");

  const bad = await molt(["push", layout]);
  expect(bad.code).toBe(2);
}, 120_000);
