import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, test } from "vitest";
import { run } from "../harness/exec.js";
import { molt } from "../harness/molt-cli.js";
import { type RunningRegistry, startRegistry } from "../harness/registry.js";

// Issue 15 item 10: build-arg values appeared in debug output (the runner's spawn environment
// dump). No value of a build arg, a secret or a registry credential may be printed at any debug
// level: build with DEBUG=molt:* and look for each value, and its base64, in everything printed.

const registry = inject("registry");
const ARG_VALUE = "argv4lue-Zq81-do-not-print";
const ENV_ARG_VALUE = "envarg-Kx29-do-not-print";
const SECRET_VALUE = "secr3t-Wm55-do-not-print";
const USER = "erin";
const PASSWORD = "pa55-Yt70-do-not-print";
let dir: string;
let reg: RunningRegistry;
let dockerConfig: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "molt-e2e-nosecrets-"));
  await writeFile(
    join(dir, "htpasswd"),
    execFileSync("htpasswd", ["-Bbn", USER, PASSWORD], { encoding: "utf8" }),
  );
  reg = await startRegistry({
    authYaml: `  htpasswd:\n    realm: molt-test\n    path: ${join(dir, "htpasswd")}`,
  });
  dockerConfig = join(dir, "docker");
  await mkdir(dockerConfig);
  await writeFile(
    join(dockerConfig, "config.json"),
    JSON.stringify({
      auths: { [reg.host]: { auth: Buffer.from(`${USER}:${PASSWORD}`).toString("base64") } },
    }),
  );
  await run("skopeo", [
    "copy",
    "--quiet",
    "--src-tls-verify=false",
    "--dest-tls-verify=false",
    "--dest-creds",
    `${USER}:${PASSWORD}`,
    `docker://${registry}/test/busybox:latest`,
    `docker://${reg.host}/test/busybox:latest`,
  ]);
});
afterAll(async () => {
  await reg?.stop();
  await rm(dir, { recursive: true, force: true });
});

const md5 = (s: string) => createHash("md5").update(s).digest("hex");

/** Every form a value could leak in: as is, base64 (alone and inside user:password), hex. */
function forms(value: string): string[] {
  const b64 = (s: string) => Buffer.from(s).toString("base64");
  return [value, b64(value), b64(`${USER}:${value}`), Buffer.from(value).toString("hex")];
}

describe("debug output never holds build-arg values, secrets or credentials", () => {
  test("DEBUG=molt:* with a build arg, an env-sourced build arg, a secret and a registry password", async () => {
    const ctx = join(dir, "ctx");
    await mkdir(ctx, { recursive: true });
    await writeFile(join(dir, "secret.txt"), SECRET_VALUE);
    await writeFile(
      join(ctx, "Dockerfile"),
      [
        `FROM ${reg.host}/test/busybox:latest`,
        "ARG TOKEN_ARG",
        "ARG FROM_ENV",
        // The values are used (so they reach the runner's environment, checked by digest so
        // that the Dockerfile itself does not hold them) but never written out.
        `RUN test "$(printf %s "$TOKEN_ARG" | md5sum | cut -c1-32)" = "${md5(ARG_VALUE)}" && test "$(printf %s "$FROM_ENV" | md5sum | cut -c1-32)" = "${md5(ENV_ARG_VALUE)}" && echo used > /used`,
        "RUN --mount=type=secret,id=tok test -s /run/secrets/tok && echo secret-used > /secret-used",
        "",
      ].join("\n"),
    );
    const r = await molt(
      [
        "build",
        "-c",
        ctx,
        "-d",
        `${reg.host}/nosecrets/app:1`,
        "--insecure",
        "--insecure-pull",
        "--build-arg",
        `TOKEN_ARG=${ARG_VALUE}`,
        "--build-arg",
        "FROM_ENV",
        "--secret",
        `id=tok,src=${join(dir, "secret.txt")}`,
        "-v",
        "trace",
      ],
      {
        env: {
          ...process.env,
          DEBUG: "molt:*",
          DEBUG_DEPTH: "10",
          FROM_ENV: ENV_ARG_VALUE,
          DOCKER_CONFIG: dockerConfig,
        },
      },
    );
    const all = `${r.stdout}\n${r.stderr}`;
    expect(r.code, r.stderr.slice(-2000)).toBe(0);
    // The debug output is really on (the runner spawned, the registry authenticated).
    expect(r.stderr).toMatch(/molt:run spawn /);
    expect(r.stderr).toMatch(/molt:registry/);
    for (const v of [ARG_VALUE, ENV_ARG_VALUE, SECRET_VALUE, PASSWORD]) {
      for (const f of forms(v)) expect(all.includes(f), `${v} printed as ${f}`).toBe(false);
    }
    // Nor in the image: config and history name the args without values.
    const config = await run("skopeo", [
      "inspect",
      "--config",
      "--tls-verify=false",
      "--creds",
      `${USER}:${PASSWORD}`,
      `docker://${reg.host}/nosecrets/app:1`,
    ]);
    for (const v of [ARG_VALUE, ENV_ARG_VALUE, SECRET_VALUE, PASSWORD])
      expect(config.stdout).not.toContain(v);
  }, 120_000);
});
