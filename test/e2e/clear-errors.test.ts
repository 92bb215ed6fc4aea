// biome-ignore-all lint/suspicious/noTemplateCurlyInString: Dockerfile text, not templates
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { build } from "@molt/core";
import { afterAll, beforeAll, describe, expect, inject, test } from "vitest";
import { writeContext } from "../harness/context-dir.js";
import { buildAndUnpack, molt } from "../harness/molt-cli.js";

const registry = inject("registry");
const base = `${registry}/test/busybox:latest`;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "molt-e2e-clear-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const context = (name: string, dockerfile: string | Buffer): Promise<string> =>
  writeContext(join(dir, name), dockerfile);

function errorLine(stderr: string): string {
  const lines = stderr.trimEnd().split("\n");
  const errors = lines.filter((l) => l.startsWith("molt: error:"));
  expect(errors).toHaveLength(1);
  expect(lines.at(-1)).toBe(errors[0]);
  return errors[0]!;
}

describe("inputs that used to give raw errors", () => {
  test("a NUL byte in RUN: one located line with a code", async () => {
    const ctx = await context("nul", `FROM ${base}\nRUN echo a && \\\n  echo b\0c\n`);
    const r = await molt(["build", "-c", ctx, "--no-push", "--insecure-pull"]);
    expect(r.code).toBe(1);
    expect(errorLine(r.stderr)).toBe(
      "molt: error: Dockerfile:3:9: RUN contains a NUL byte, which no command argument can hold [MOLT_RUN_NUL_BYTE]",
    );
  });

  test.each([
    ["ENV", "ENV A=x\0y", 8, "ENV contains a NUL byte, which no environment variable can hold"],
    ["ARG", "ARG A=x\0y", 8, "ARG contains a NUL byte, which no build argument can hold"],
    ["LABEL", 'LABEL a="x\0y"', 11, "LABEL contains a NUL byte, which no image label may hold"],
  ])("a NUL byte in %s: one located line with a code, before any step", async (kind, line, col, msg) => {
    const ctx = await context(`nul-${kind}`, `FROM ${base}\n${line}\nRUN echo "$A"\n`);
    const r = await molt(["build", "-c", ctx, "--no-push", "--insecure-pull"]);
    expect(r.code).toBe(1);
    expect(errorLine(r.stderr)).toBe(`molt: error: Dockerfile:2:${col}: ${msg} [MOLT_DOCKERFILE_NUL_BYTE]`);
    expect(r.stderr).not.toMatch(/\[\d+\/\d+\]/); // no instruction step started
  });

  test("a NUL byte in a build-arg value (library): a clear error with a code, the value not shown", async () => {
    const ctx = await context("nul-arg", `FROM ${base}\nARG A\nRUN echo "$A"\n`);
    const err = await build({
      context: ctx,
      buildArgs: { A: "secret\0value" },
      noPush: true,
      registries: { "*": { pull: { insecure: true } } },
    }).then(
      () => undefined,
      (e: Error & { code?: string }) => e,
    );
    expect(err?.code).toBe("MOLT_BUILD_ARG_NUL_BYTE");
    expect(err?.message).toBe(
      "build arg A: its value contains a NUL byte, which no environment variable can hold",
    );
  });

  test("a RUN longer than the kernel's 128 KiB argument limit just runs", async () => {
    const payload = "a".repeat(200_000);
    const ctx = await context(
      "long",
      `FROM ${base}\nRUN printf '%s' '${payload}' > /out && echo "ran as $0"\n`,
    );
    const r = await buildAndUnpack(ctx, join(dir, "long-out"));
    expect(r.stderr).not.toContain("error");
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("ran as /bin/sh");
    expect((await readFile(join(r.rootfs, "out"), "utf8")).length).toBe(200_000);
  });

  test("an exec-form argument that long is a located error, not spawn E2BIG", async () => {
    const ctx = await context("longexec", `FROM ${base}\nRUN ["echo", "${"b".repeat(140_000)}"]\n`);
    const r = await molt(["build", "-c", ctx, "--no-push", "--insecure-pull"]);
    expect(r.code).toBe(1);
    expect(errorLine(r.stderr)).toMatch(
      /^molt: error: Dockerfile:2:1: RUN argument 2 is 140000 bytes, over the kernel's 131072-byte limit for one argument .*\[MOLT_RUN_TOO_LONG\]$/,
    );
  });

  test("10,000 nested ${a:-${b:-…}}: a located error, not a stack overflow", async () => {
    const n = 10_000;
    const ctx = await context("deep", `FROM scratch\nENV X=${"${a:-".repeat(n)}x${"}".repeat(n)}\n`);
    const r = await molt(["build", "-c", ctx, "--no-push", "--tar-path", join(dir, "deep.tar")]);
    expect(r.code).toBe(1);
    const line = errorLine(r.stderr);
    expect(line).toBe(
      "molt: error: Dockerfile:2:1: ENV: syntax error: ${…} nested more than 200 levels deep [MOLT_DOCKERFILE_EXPANSION]",
    );
    expect(line).not.toMatch(/call stack/i);
  });

  test("invalid UTF-8 in the Dockerfile: a warning naming line and column, then the build goes on", async () => {
    const df = Buffer.concat([
      Buffer.from('FROM scratch\nLABEL note="caf\u00e9 '),
      Buffer.from([0xff]),
      Buffer.from('"\n'),
    ]);
    const ctx = await context("utf8", df);
    const r = await molt(["build", "-c", ctx, "--no-push", "--tar-path", join(dir, "utf8.tar")]);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(
      "WARNING Dockerfile:2: column 18: not valid UTF-8; the invalid bytes are read as U+FFFD [MOLT_DOCKERFILE_INVALID_UTF8]",
    );
  });

  test("invalid UTF-8: molt parse warns with file:line:col too", async () => {
    const df = Buffer.concat([
      Buffer.from('FROM scratch\nLABEL note="caf\u00e9 '),
      Buffer.from([0xff]),
      Buffer.from('"\n'),
    ]);
    const ctx = await context("utf8-parse", df);
    for (const json of [false, true]) {
      const r = await molt(["parse", "-f", join(ctx, "Dockerfile"), ...(json ? ["--json"] : [])]);
      expect(r.code).toBe(0);
      expect(r.stderr).toBe(
        `molt parse: warning: ${join(ctx, "Dockerfile")}:2:18: not valid UTF-8; the invalid bytes are read as U+FFFD [MOLT_DOCKERFILE_INVALID_UTF8]\n`,
      );
      if (json) expect(JSON.parse(r.stdout).version).toBe(1);
    }
  });
});
