import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { resolveCredential } from "../src/index.js";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "molt-rc-creds-"));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

async function envWith(dockerConfig?: object, podman?: object): Promise<NodeJS.ProcessEnv> {
  const home = await mkdtemp(join(dir, "home-"));
  const env: NodeJS.ProcessEnv = { HOME: home, PATH: process.env.PATH };
  if (dockerConfig) {
    await mkdir(join(home, ".docker"));
    await writeFile(join(home, ".docker", "config.json"), JSON.stringify(dockerConfig));
  }
  if (podman) {
    await mkdir(join(home, ".config", "containers"), { recursive: true });
    await writeFile(join(home, ".config", "containers", "auth.json"), JSON.stringify(podman));
  }
  return env;
}

const b64 = (s: string) => Buffer.from(s).toString("base64");

describe("the docker credential chain (files)", () => {
  it("no file at all means anonymous", async () => {
    expect(await resolveCredential("ghcr.io", "a/b", { env: await envWith() })).toBeUndefined();
  });

  it("reads ~/.docker/config.json auths: base64 auth (password may hold colons)", async () => {
    const env = await envWith({ auths: { "ghcr.io": { auth: b64("me:pa:ss") } } });
    expect(await resolveCredential("ghcr.io", undefined, { env })).toEqual({
      username: "me",
      password: "pa:ss",
    });
  });

  it("finds Docker Hub credentials under https://index.docker.io/v1/", async () => {
    const env = await envWith({
      auths: { "https://index.docker.io/v1/": { username: "hub", password: "pw" } },
    });
    expect(await resolveCredential("docker.io", "library/busybox", { env })).toEqual({
      username: "hub",
      password: "pw",
    });
    expect(await resolveCredential("registry-1.docker.io", undefined, { env })).toEqual({
      username: "hub",
      password: "pw",
    });
    expect(await resolveCredential("quay.io", undefined, { env })).toBeUndefined();
  });

  it("identitytoken and registrytoken entries", async () => {
    const env = await envWith({
      auths: {
        "a.example": { auth: b64("user:"), identitytoken: "refresh-1" },
        "b.example": { registrytoken: "bearer-2" },
      },
    });
    expect(await resolveCredential("a.example", undefined, { env })).toEqual({
      identityToken: "refresh-1",
      username: "user",
    });
    expect(await resolveCredential("b.example", undefined, { env })).toEqual({ registryToken: "bearer-2" });
  });

  it("falls back to podman's auth.json, preferring the most specific repository key", async () => {
    const env = await envWith(
      { auths: { "other.example": { auth: b64("x:y") } } },
      {
        auths: {
          "quay.io": { auth: b64("org:wide") },
          "quay.io/team": { auth: b64("team:scoped") },
          "quay.io/team/app": { auth: b64("app:exact") },
        },
      },
    );
    expect(await resolveCredential("quay.io", "team/app", { env })).toEqual({
      username: "app",
      password: "exact",
    });
    expect(await resolveCredential("quay.io", "team/other", { env })).toEqual({
      username: "team",
      password: "scoped",
    });
    expect(await resolveCredential("quay.io", "solo/x", { env })).toEqual({
      username: "org",
      password: "wide",
    });
  });

  it("DOCKER_CONFIG wins over HOME, REGISTRY_AUTH_FILE is consulted after docker", async () => {
    const env = await envWith({ auths: { "c.example": { auth: b64("home:1") } } });
    const cfg = join(dir, "dc");
    await mkdir(cfg, { recursive: true });
    await writeFile(
      join(cfg, "config.json"),
      JSON.stringify({ auths: { "c.example": { auth: b64("dockerconfig:2") } } }),
    );
    const authFile = join(dir, "reg-auth.json");
    await writeFile(authFile, JSON.stringify({ auths: { "d.example": { auth: b64("authfile:3") } } }));
    const e = { ...env, DOCKER_CONFIG: cfg, REGISTRY_AUTH_FILE: authFile };
    expect(await resolveCredential("c.example", undefined, { env: e })).toEqual({
      username: "dockerconfig",
      password: "2",
    });
    expect(await resolveCredential("d.example", undefined, { env: e })).toEqual({
      username: "authfile",
      password: "3",
    });
  });

  it("a malformed config file is a clear error that does not quote it", async () => {
    const home = await mkdtemp(join(dir, "home-"));
    await mkdir(join(home, ".docker"));
    await writeFile(join(home, ".docker", "config.json"), '{"auths": {"x": {"auth": "c2VjcmV0"}},');
    const err = await resolveCredential("x", undefined, { env: { HOME: home } }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "MOLT_CREDENTIAL_CONFIG" });
    expect((err as Error).message).toBe(`${join(home, ".docker", "config.json")}: is not valid JSON`);
  });
});
