import { type ChildProcess, spawn } from "node:child_process";
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, test } from "vitest";
import { run } from "../harness/exec.js";
import { buildAndUnpack } from "../harness/molt-cli.js";

// RUN --mount=type=ssh with a real ssh-agent (Debian's openssh-client): the image gets the
// host's ssh-add and the libraries it links (from ldd) on top of busybox, so `ssh-add -l` runs
// inside the RUN against the forwarded agent.
const registry = inject("registry");
const BASE = `${registry}/test/busybox:latest`;
let dir: string;
let agent: ChildProcess | undefined;
let agentSock: string;
let key: string;

async function sshAddContext(name: string, dockerfileTail: string[]): Promise<string> {
  const ctx = join(dir, name);
  const root = join(ctx, "root");
  const files = ["/usr/bin/ssh-add"];
  const ldd = await run("ldd", ["/usr/bin/ssh-add"]);
  for (const m of ldd.stdout.matchAll(/(\/[^\s]+\.so[^\s]*)/g)) files.push(m[1]!);
  for (const f of files) {
    await mkdir(join(root, dirname(f)), { recursive: true });
    await copyFile(f, join(root, f));
  }
  await writeFile(
    join(ctx, "Dockerfile"),
    [`FROM ${BASE}`, "COPY root/ /", ...dockerfileTail, ""].join("\n"),
  );
  return ctx;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "molt-e2e-ssh-"));
  key = join(dir, "id_ed25519");
  await run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "molt-test-key", "-f", key]);
  agentSock = join(dir, "agent.sock");
  agent = spawn("ssh-agent", ["-D", "-a", agentSock], { stdio: "ignore" });
  for (let i = 0; i < 100; i++) {
    if (
      (await run("ssh-add", ["-l"], { env: { ...process.env, SSH_AUTH_SOCK: agentSock }, allowFail: true }))
        .code !== 2
    )
      break;
    await new Promise((r) => setTimeout(r, 50));
  }
  await run("ssh-add", ["-q", key], { env: { ...process.env, SSH_AUTH_SOCK: agentSock } });
});
afterAll(async () => {
  agent?.kill();
  await rm(dir, { recursive: true, force: true });
});

async function fingerprint(): Promise<string> {
  return (await run("ssh-keygen", ["-l", "-f", `${key}.pub`])).stdout.split(" ")[1]!;
}

describe("RUN --mount=type=ssh", () => {
  test("--ssh default forwards the agent at /run/buildkit/ssh_agent.0 with SSH_AUTH_SOCK; gone after", async () => {
    const ctx = await sshAddContext("default", [
      "RUN --mount=type=ssh /usr/bin/ssh-add -l > /keys && echo $SSH_AUTH_SOCK > /sock && stat -c '%a %u' $SSH_AUTH_SOCK > /sock-stat",
      "RUN ls -A /run 2>/dev/null > /run-after; test ! -e /run/buildkit",
    ]);
    const r = await buildAndUnpack(ctx, join(dir, "w1"), ["--ssh", "default"], {
      env: { ...process.env, SSH_AUTH_SOCK: agentSock },
    });
    expect(r.code, r.stderr).toBe(0);
    const keys = await readFile(join(r.rootfs, "keys"), "utf8");
    expect(keys).toContain(await fingerprint());
    expect(keys).toContain("molt-test-key");
    expect((await readFile(join(r.rootfs, "sock"), "utf8")).trim()).toBe("/run/buildkit/ssh_agent.0");
    expect((await readFile(join(r.rootfs, "sock-stat"), "utf8")).trim()).toBe("600 0");
    expect((await readFile(join(r.rootfs, "run-after"), "utf8")).trim()).toBe("");
  }, 60_000);

  test("--ssh ID=KEYFILE loads the key into an agent for the step; a target and an id", async () => {
    const ctx = await sshAddContext("keyfile", [
      "RUN --mount=type=ssh,id=deploy,target=/agent.sock,mode=0666 SSH_AUTH_SOCK=/agent.sock /usr/bin/ssh-add -l > /keys",
    ]);
    const r = await buildAndUnpack(ctx, join(dir, "w2"), ["--ssh", `deploy=${key}`], {
      env: { ...process.env, SSH_AUTH_SOCK: "" },
    });
    expect(r.code, r.stderr).toBe(0);
    expect(await readFile(join(r.rootfs, "keys"), "utf8")).toContain(await fingerprint());
  }, 60_000);

  test("required without an agent is a located error; optional mounts nothing", async () => {
    const ctx = await sshAddContext("required", [
      "RUN --mount=type=ssh,id=other test ! -e /run/buildkit/ssh_agent.0 && echo none > /optional",
      "RUN --mount=type=ssh,id=missing,required true",
    ]);
    const r = await buildAndUnpack(ctx, join(dir, "w3"), [], { env: { ...process.env, SSH_AUTH_SOCK: "" } });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /Dockerfile:4:1: .*MOLT_MOUNT_SSH_NOT_FOUND|MOLT_MOUNT_SSH_NOT_FOUND.*Dockerfile:4:1/,
    );
  }, 60_000);
});
