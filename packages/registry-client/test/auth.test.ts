import { execFileSync } from "node:child_process";
import { chmod, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { type Descriptor, MediaType, parseReference, sha256 } from "@molt/oci";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFaultProxy } from "../../../test/harness/fault-proxy.js";
import { type RunningRegistry, requireBinary, startRegistry } from "../../../test/harness/registry.js";
import { startTokenServer, type TokenServer } from "../../../test/harness/token-server.js";
import {
  RegistryAuthError,
  RegistryClient,
  type RegistryClientOptions,
  RegistryError,
} from "../src/index.js";

let dir: string;
let basic: RunningRegistry;
let tokenReg: RunningRegistry;
let tokens: TokenServer;
const PASSWORD = "s3cret-Pa55word";
const REFRESH = "refresh-token-0123456789";

beforeAll(async () => {
  requireBinary("htpasswd", "Debian package apache2-utils");
  requireBinary("openssl", "Debian package openssl");
  dir = await mkdtemp(join(tmpdir(), "molt-rc-auth-"));
  const stdout = execFileSync("htpasswd", ["-Bbn", "alice", PASSWORD], { encoding: "utf8" });
  await writeFile(join(dir, "htpasswd"), stdout);
  tokens = await startTokenServer(dir, [
    {
      username: "bob",
      password: PASSWORD,
      refreshToken: REFRESH,
      grants: [{ repository: "team/*", actions: ["pull", "push"] }],
    },
  ]);
  [basic, tokenReg] = await Promise.all([
    startRegistry({ authYaml: `  htpasswd:\n    realm: molt-test\n    path: ${join(dir, "htpasswd")}` }),
    startRegistry({ authYaml: tokens.authYaml }),
  ]);
});

afterAll(async () => {
  await Promise.all([basic?.stop(), tokenReg?.stop(), tokens?.stop()]);
  await rm(dir, { recursive: true, force: true });
});

/** An environment with an empty HOME so the machine's own docker/podman files are never read. */
async function isolatedEnv(extra: Record<string, string> = {}): Promise<NodeJS.ProcessEnv> {
  const home = await mkdtemp(join(dir, "home-"));
  return { PATH: process.env.PATH, HOME: home, ...extra };
}

function blob(text: string): { desc: Descriptor; bytes: Buffer } {
  const bytes = Buffer.from(text);
  return { bytes, desc: { mediaType: MediaType.OciLayer, digest: sha256(bytes), size: bytes.length } };
}

async function client(host: string, opts: RegistryClientOptions): Promise<RegistryClient> {
  return new RegistryClient({ insecure: [host], retry: { retries: 0 }, env: await isolatedEnv(), ...opts });
}

async function roundTrip(c: RegistryClient, reference: string): Promise<void> {
  const ref = parseReference(reference);
  const { desc, bytes } = blob(`${reference} ${Math.random()}`);
  expect(await c.pushBlob(ref, desc, () => bytes)).toBe("uploaded");
  const back: Buffer[] = [];
  for await (const chunk of await c.fetchBlob(ref, desc)) back.push(chunk as Buffer);
  expect(Buffer.concat(back)).toEqual(bytes);
}

describe("htpasswd basic auth", () => {
  it("refuses anonymous access with an auth error naming the registry", async () => {
    const c = await client(basic.host, {});
    const err = await c.hasBlob(parseReference(`${basic.host}/a/b`), sha256("x")).catch((e: unknown) => e);
    await c.close();
    expect(err).toBeInstanceOf(RegistryAuthError);
    expect(err).toMatchObject({ status: 401, registry: basic.host, registryCode: "UNAUTHORIZED" });
    expect((err as Error).message).toContain(`no credentials were found for ${basic.host}`);
  });

  it("pushes and pulls with explicit credentials", async () => {
    const c = await client(basic.host, {
      credentials: { [basic.host]: { username: "alice", password: PASSWORD } },
    });
    await roundTrip(c, `${basic.host}/basic/repo`);
    await c.close();
  });

  it("reads credentials from $DOCKER_CONFIG/config.json (auth base64)", async () => {
    const cfgDir = await mkdtemp(join(dir, "docker-"));
    const auth = Buffer.from(`alice:${PASSWORD}`).toString("base64");
    await writeFile(
      join(cfgDir, "config.json"),
      JSON.stringify({ auths: { [`http://${basic.host}`]: { auth } } }),
    );
    const c = new RegistryClient({
      insecure: [basic.host],
      env: await isolatedEnv({ DOCKER_CONFIG: cfgDir }),
    });
    await roundTrip(c, `${basic.host}/basic/from-config`);
    await c.close();
  });

  it("reads podman's REGISTRY_AUTH_FILE when docker has nothing", async () => {
    const file = join(dir, "auth.json");
    await writeFile(
      file,
      JSON.stringify({ auths: { [basic.host]: { username: "alice", password: PASSWORD } } }),
    );
    const c = new RegistryClient({
      insecure: [basic.host],
      env: await isolatedEnv({ REGISTRY_AUTH_FILE: file }),
    });
    await roundTrip(c, `${basic.host}/basic/from-podman`);
    await c.close();
  });

  it("reports rejected credentials without ever quoting them", async () => {
    const wrong = "Wrong-Pa55word-123";
    const c = await client(basic.host, {
      credentials: { [basic.host]: { username: "alice", password: wrong } },
    });
    const err = await c.hasBlob(parseReference(`${basic.host}/a/b`), sha256("x")).catch((e: unknown) => e);
    await c.close();
    expect(err).toBeInstanceOf(RegistryAuthError);
    const text = `${(err as Error).message} ${JSON.stringify(err)} ${String((err as Error).stack)}`;
    expect(text).not.toContain(wrong);
    expect(text).not.toContain(Buffer.from(`alice:${wrong}`).toString("base64"));
  });
});

describe("docker credential helpers on PATH", () => {
  async function helperEnv(name: string, script: string, config: object): Promise<NodeJS.ProcessEnv> {
    const bin = await mkdtemp(join(dir, "bin-"));
    const file = join(bin, `docker-credential-${name}`);
    await writeFile(file, `#!/bin/sh\n${script}\n`);
    await chmod(file, 0o755);
    const cfgDir = await mkdtemp(join(dir, "docker-"));
    await writeFile(join(cfgDir, "config.json"), JSON.stringify(config));
    return isolatedEnv({ DOCKER_CONFIG: cfgDir, PATH: `${bin}:${process.env.PATH}` });
  }

  it("credHelpers[host] gives user and secret for the server URL it is asked about", async () => {
    const env = await helperEnv(
      "molt-test",
      `[ "$1" = get ] || exit 3
read url
if [ "$url" = "${basic.host}" ]; then
  printf '{"ServerURL":"%s","Username":"alice","Secret":"${PASSWORD}"}' "$url"
else
  echo "credentials not found in native keychain"; exit 1
fi`,
      { credHelpers: { [basic.host]: "molt-test" } },
    );
    const c = new RegistryClient({ insecure: [basic.host], env });
    await roundTrip(c, `${basic.host}/helper/repo`);
    await c.close();
  });

  it("'credentials not found' means anonymous, which the registry then refuses", async () => {
    const env = await helperEnv("molt-none", `echo "credentials not found in native keychain"; exit 1`, {
      credsStore: "molt-none",
    });
    const c = new RegistryClient({ insecure: [basic.host], env, retry: { retries: 0 } });
    const err = await c.hasBlob(parseReference(`${basic.host}/a/b`), sha256("x")).catch((e: unknown) => e);
    await c.close();
    expect(err).toBeInstanceOf(RegistryAuthError);
  });

  it("a failing helper is a clear error, not anonymous", async () => {
    const env = await helperEnv("molt-broken", `echo "boom ${PASSWORD}" >&2; exit 2`, {
      credHelpers: { [basic.host]: "molt-broken" },
    });
    const c = new RegistryClient({ insecure: [basic.host], env, retry: { retries: 0 } });
    const err = await c.hasBlob(parseReference(`${basic.host}/a/b`), sha256("x")).catch((e: unknown) => e);
    await c.close();
    expect(err).toMatchObject({
      code: "MOLT_CREDENTIAL_HELPER",
      message: "credential helper docker-credential-molt-broken: exited with status 2",
    });
  });

  it("a <token> user name makes the secret an identity token, exchanged by OAuth2 POST", async () => {
    const env = await helperEnv(
      "molt-token",
      `read url; printf '{"ServerURL":"%s","Username":"<token>","Secret":"${REFRESH}"}' "$url"`,
      { credsStore: "molt-token" },
    );
    const before = tokens.requests.length;
    const c = new RegistryClient({ insecure: [tokenReg.host], env });
    await roundTrip(c, `${tokenReg.host}/team/identity`);
    await c.close();
    const mine = tokens.requests.slice(before);
    expect(mine.length).toBeGreaterThan(0);
    expect(
      mine.every((r) => r.method === "POST" && r.grantType === "refresh_token" && r.account === "bob"),
    ).toBe(true);
  });
});

describe("bearer token auth (docker token spec) against a registry verifying JWTs", () => {
  it("anonymous tokens grant nothing on a private repository", async () => {
    const c = await client(tokenReg.host, {});
    const err = await c.getManifest(parseReference(`${tokenReg.host}/team/app:1`)).catch((e: unknown) => e);
    await c.close();
    expect(err).toBeInstanceOf(RegistryError);
    expect(err).toMatchObject({ status: 401, registryCode: "UNAUTHORIZED", code: "MOLT_REGISTRY_AUTH" });
  });

  it("anonymous tokens are enough for a public repository", async () => {
    const bob = await client(tokenReg.host, {
      credentials: { [tokenReg.host]: { username: "bob", password: PASSWORD } },
    });
    const ref = parseReference(`${tokenReg.host}/public/tool`);
    const { desc, bytes } = blob(`public ${Math.random()}`);
    const pushErr = await bob.pushBlob(ref, desc, () => bytes).catch((e: unknown) => e);
    await bob.close();
    // bob may not push to public/ — the token server grants nothing there but pull
    expect(pushErr).toMatchObject({ code: "MOLT_REGISTRY_AUTH" });
    const anon = await client(tokenReg.host, {});
    expect(await anon.hasBlob(ref, desc.digest)).toBe(false);
    await anon.close();
    const last = tokens.requests.at(-1)!;
    expect(last).toMatchObject({ account: undefined, granted: [{ name: "public/tool", actions: ["pull"] }] });
  });

  it("fetches one token per scope, caches it, and asks for the mount source's pull scope", async () => {
    const before = tokens.requests.length;
    const c = await client(tokenReg.host, {
      credentials: { [tokenReg.host]: { username: "bob", password: PASSWORD } },
    });
    const a = parseReference(`${tokenReg.host}/team/a`);
    const b = parseReference(`${tokenReg.host}/team/b`);
    const one = blob(`one ${Math.random()}`);
    const two = blob(`two ${Math.random()}`);
    expect(await c.pushBlob(a, one.desc, () => one.bytes)).toBe("uploaded");
    expect(await c.pushBlob(a, two.desc, () => two.bytes)).toBe("uploaded");
    expect(await c.pushBlob(b, one.desc, () => one.bytes, { mountFrom: a })).toBe("mounted");
    await c.close();
    const mine = tokens.requests.slice(before);
    const scopes = mine.map((r) => [...r.scopes].sort().join(" "));
    // push scope for a (one fetch, cached for the second blob), then b's push scope, then b's push + a's pull for the mount
    expect(scopes).toEqual([
      "repository:team/a:pull,push",
      "repository:team/b:pull,push",
      "repository:team/a:pull repository:team/b:pull,push",
    ]);
    expect(mine.every((r) => r.method === "GET" && r.account === "bob" && r.service === tokens.service)).toBe(
      true,
    );
  });

  it("a fresh token the registry refuses is an auth error, not a loop", async () => {
    const c = await client(tokenReg.host, {
      credentials: { [tokenReg.host]: { username: "bob", password: PASSWORD } },
    });
    tokens.spoilNext(1);
    const before = tokens.requests.length;
    const err = await c
      .hasBlob(parseReference(`${tokenReg.host}/team/spoiled`), sha256("x"))
      .catch((e: unknown) => e);
    await c.close();
    expect(err).toMatchObject({ code: "MOLT_REGISTRY_AUTH", status: 401 });
    expect(tokens.requests.length - before).toBe(1);
  });

  it("refreshes a cached token the registry starts refusing (401)", async () => {
    // A front that answers the registry's own challenge once to a request that carries a token,
    // as a registry does for a revoked or expired token.
    let challenge = "";
    let refused = 0;
    const front = await startFaultProxy(tokenReg.host, (req) => {
      if (
        req.headers.authorization &&
        refused === 0 &&
        req.method === "GET" &&
        req.url?.includes("/blobs/")
      ) {
        refused++;
        return {
          kind: "status",
          status: 401,
          headers: { "www-authenticate": challenge },
          body: '{"errors":[{"code":"UNAUTHORIZED"}]}',
        };
      }
      return { kind: "forward" };
    });
    const probe = await fetch(`http://${tokenReg.host}/v2/`);
    challenge = probe.headers.get("www-authenticate") ?? "";
    expect(challenge).toContain("Bearer");
    const c = await client(front.host, {
      credentials: { [front.host]: { username: "bob", password: PASSWORD } },
    });
    const before = tokens.requests.length;
    const ref = parseReference(`${front.host}/team/refresh`);
    const { desc, bytes } = blob(`refresh ${Math.random()}`);
    await c.pushBlob(ref, desc, () => bytes);
    const back: Buffer[] = [];
    for await (const chunk of await c.fetchBlob(ref, desc)) back.push(chunk as Buffer);
    await c.close();
    await front.stop();
    expect(Buffer.concat(back)).toEqual(bytes);
    expect(refused).toBe(1);
    // one token for push, one for pull, one more after the refusal
    expect(tokens.requests.slice(before).map((r) => r.scopes.join(" "))).toEqual([
      "repository:team/refresh:pull,push",
      "repository:team/refresh:pull",
      "repository:team/refresh:pull",
    ]);
  });

  it("restarts a streamed upload with a fresh source when its PUT is refused (401)", async () => {
    let challenge = "";
    let refused = 0;
    const front = await startFaultProxy(tokenReg.host, (req) => {
      if (req.method === "PUT" && refused === 0) {
        refused++;
        return { kind: "status", status: 401, headers: { "www-authenticate": challenge }, body: "{}" };
      }
      return { kind: "forward" };
    });
    challenge = (await fetch(`http://${tokenReg.host}/v2/`)).headers.get("www-authenticate") ?? "";
    const c = await client(front.host, {
      credentials: { [front.host]: { username: "bob", password: PASSWORD } },
    });
    const { desc, bytes } = blob(`restart ${Math.random()}`);
    let sources = 0;
    const result = await c.pushBlob(parseReference(`${front.host}/team/restart`), desc, () => {
      sources++;
      return Readable.from([bytes]);
    });
    await c.close();
    await front.stop();
    expect(result).toBe("uploaded");
    expect(sources).toBe(2);
    expect(front.seen.filter((r) => r.method === "POST")).toHaveLength(2);
  });

  it("uses a registrytoken as the bearer token directly", async () => {
    const res = await fetch(`${tokens.realm}?service=${tokens.service}&scope=repository:team/rt:pull,push`, {
      headers: { authorization: `Basic ${Buffer.from(`bob:${PASSWORD}`).toString("base64")}` },
    });
    const { token } = (await res.json()) as { token: string };
    const before = tokens.requests.length;
    const c = await client(tokenReg.host, { credentials: { [tokenReg.host]: { registryToken: token } } });
    await roundTrip(c, `${tokenReg.host}/team/rt`);
    await c.close();
    expect(tokens.requests.length).toBe(before);
  });

  it("a wrong password is refused by the token server with an auth error", async () => {
    const c = await client(tokenReg.host, {
      credentials: { [tokenReg.host]: { username: "bob", password: "nope-nope" } },
    });
    const err = await c
      .hasBlob(parseReference(`${tokenReg.host}/team/x`), sha256("x"))
      .catch((e: unknown) => e);
    await c.close();
    expect(err).toBeInstanceOf(RegistryAuthError);
    expect((err as Error).message).toContain(`authenticate to ${tokenReg.host}`);
    expect((err as Error).message).not.toContain("nope-nope");
  });
});
