import { chmod, copyFile, mkdir, mkdtemp, readdir, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, test } from "vitest";
import { pushHandMadeImage } from "../harness/hand-image.js";
import { molt } from "../harness/molt-cli.js";

const registry = inject("registry");
let dir: string;
let busyboxDir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "molt-e2e-hostile-base-"));
  busyboxDir = join(dir, "bb");
  await mkdir(join(busyboxDir, "bin"), { recursive: true });
  await copyFile("/bin/busybox", join(busyboxDir, "bin", "busybox"));
  await chmod(join(busyboxDir, "bin", "busybox"), 0o755);
  for (const app of ["sh", "true", "cat"]) await symlink("busybox", join(busyboxDir, "bin", app));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The single `molt: error:` line, which must be the last line of stderr. */
function errorLine(stderr: string): string {
  const lines = stderr.trimEnd().split("\n");
  const errors = lines.filter((l) => l.startsWith("molt: error:"));
  expect(errors).toHaveLength(1);
  expect(lines.at(-1)).toBe(errors[0]);
  return errors[0]!;
}

async function context(name: string, dockerfile: string): Promise<string> {
  const ctx = join(dir, name);
  await mkdir(ctx, { recursive: true });
  await writeFile(join(ctx, "Dockerfile"), dockerfile);
  return ctx;
}

describe("a base image whose config lies about its layers", () => {
  test("a wrong diff_id fails the build naming the layer, the declared and the real digest", async () => {
    const second = join(dir, "second");
    await mkdir(second);
    await writeFile(join(second, "hello.txt"), "hello\n");
    const ref = `${registry}/hostile/lying-diffid:1`;
    const lie = `sha256:${"ab".repeat(32)}`;
    const truth = await pushHandMadeImage(ref, [{ dir: busyboxDir }, { dir: second }], {
      diffIds: (t) => [t[0]!, lie],
    });
    const tmp = join(dir, "tmp-diffid");
    await mkdir(tmp);
    const ctx = await context("diffid", `FROM ${ref}\nRUN cat /hello.txt\n`);
    const r = await molt(
      ["build", "-c", ctx, "--no-push", "--tar-path", join(dir, "out.tar"), "--insecure-pull"],
      {
        env: { ...process.env, TMPDIR: tmp },
      },
    );
    expect(r.code).toBe(1);
    const line = errorLine(r.stderr);
    expect(line).toContain("[MOLT_DIFFID_MISMATCH]");
    expect(line).toContain("layer 2 ");
    expect(line).toContain(`diff_id ${lie} declared`);
    expect(line).toContain(`uncompressed tar is ${truth[1]}`);
    expect(await readdir(tmp)).toEqual([]);
  });

  test("the same image with honest diff_ids builds", async () => {
    const ref = `${registry}/hostile/honest-diffid:1`;
    await pushHandMadeImage(ref, [{ dir: busyboxDir }]);
    const ctx = await context("honest", `FROM ${ref}\nRUN true\n`);
    const r = await molt([
      "build",
      "-c",
      ctx,
      "--no-push",
      "--tar-path",
      join(dir, "honest.tar"),
      "--insecure-pull",
    ]);
    expect(r.stderr).not.toContain("molt: error");
    expect(r.code).toBe(0);
  });
});
