import { chmod, copyFile, mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, test } from "vitest";
import { writeContext } from "../harness/context-dir.js";
import { run } from "../harness/exec.js";
import { pushHandMadeImage } from "../harness/hand-image.js";
import { MOLT_BIN, molt } from "../harness/molt-cli.js";

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

const context = (name: string, dockerfile: string): Promise<string> =>
  writeContext(join(dir, name), dockerfile);

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

describe("a lying diff_id in a layer molt never extracts (no RUN: the layer only passes through)", () => {
  let ref: string;
  let lie: string;
  let truth: string[];
  beforeAll(async () => {
    const second = join(dir, "pass-second");
    await mkdir(second);
    await writeFile(join(second, "hello.txt"), "hello\n");
    ref = `${registry}/hostile/lying-diffid-pass:1`;
    lie = `sha256:${"cd".repeat(32)}`;
    truth = await pushHandMadeImage(ref, [{ dir: busyboxDir }, { dir: second }], {
      diffIds: (t) => [t[0]!, lie],
    });
  });

  const expectMismatch = (stderr: string) => {
    const line = errorLine(stderr);
    expect(line).toContain("[MOLT_DIFFID_MISMATCH]");
    expect(line).toContain("layer 2 ");
    expect(line).toContain(`diff_id ${lie} declared`);
    expect(line).toContain(`uncompressed tar is ${truth[1]}`);
  };

  test("an OCI layout output fails and is not tagged", async () => {
    const tmp = join(dir, "tmp-pass-layout");
    await mkdir(tmp);
    const layout = join(dir, "pass-layout");
    const ctx = await context("pass-layout", `FROM ${ref}\nENV A=1\n`);
    const r = await molt(["build", "-c", ctx, "--no-push", "--oci-layout-path", layout, "--insecure-pull"], {
      env: { ...process.env, TMPDIR: tmp },
    });
    expect(r.code).toBe(1);
    expectMismatch(r.stderr);
    const index = await readFile(join(layout, "index.json"), "utf8").catch(() => '{"manifests":[]}');
    expect(JSON.parse(index).manifests).toEqual([]);
    expect(await readdir(tmp)).toEqual([]);
  });

  test("a push that streams the blob (another registry name) fails before its manifest", async () => {
    const tmp = join(dir, "tmp-pass-push");
    await mkdir(tmp);
    // localhost:PORT is the same server under another name: molt cannot mount across, so it
    // streams every blob through itself.
    const other = registry.replace("127.0.0.1", "localhost");
    const dest = `${other}/hostile/pass-pushed:1`;
    const ctx = await context("pass-push", `FROM ${ref}\nENV A=1\n`);
    const r = await molt(["build", "-c", ctx, "-d", dest, "--insecure", "--insecure-pull"], {
      env: { ...process.env, TMPDIR: tmp },
    });
    expect(r.code).toBe(1);
    expectMismatch(r.stderr);
    const head = await run("skopeo", ["inspect", "--raw", "--tls-verify=false", `docker://${dest}`], {
      allowFail: true,
    });
    expect(head.code).not.toBe(0); // no manifest under the tag
    // Nor the lying layer's blob: its last bytes were held back, so the upload never completed.
    const manifest = await fetch(`http://${registry}/v2/hostile/lying-diffid-pass/manifests/1`, {
      headers: { accept: "application/vnd.oci.image.manifest.v1+json" },
    }).then((r) => r.json() as Promise<{ layers: { digest: string }[] }>);
    const blob = await fetch(`http://${other}/v2/hostile/pass-pushed/blobs/${manifest.layers[1]!.digest}`, {
      method: "HEAD",
    });
    expect(blob.status).toBe(404);
    expect(await readdir(tmp)).toEqual([]);
  });

  test("the honest twin passes through to a layout and a streamed push", async () => {
    const honest = `${registry}/hostile/honest-diffid-pass:1`;
    await pushHandMadeImage(honest, [{ dir: busyboxDir }]);
    const ctx = await context("pass-honest", `FROM ${honest}\nENV A=1\n`);
    const other = registry.replace("127.0.0.1", "localhost");
    const r = await molt([
      "build",
      "-c",
      ctx,
      "-d",
      `${other}/hostile/pass-honest:1`,
      "--insecure",
      "--oci-layout-path",
      join(dir, "pass-honest-layout"),
      "--insecure-pull",
    ]);
    expect(r.stderr).not.toContain("molt: error");
    expect(r.code).toBe(0);
  });
});

describe("a layer bomb: a ~1 MB layer holding a 1 GiB file of zeros", () => {
  let ref: string;
  beforeAll(async () => {
    const bombDir = join(dir, "bomb");
    await mkdir(bombDir);
    await run("truncate", ["-s", "1G", join(bombDir, "big")]); // sparse on disk, 1 GiB of zeros in the tar
    ref = `${registry}/hostile/bomb:1`;
    await pushHandMadeImage(ref, [{ dir: busyboxDir }, { dir: bombDir }]);
  }, 120_000);

  test.each([
    ["--max-extract-size", "100M", "more than 100 MiB in total"],
    ["--max-extract-file-size", "64M", "a file larger than 64 MiB"],
  ])(
    "%s %s stops it before the file is written, cleans up, memory stays bounded",
    async (flag, value, what) => {
      const tmp = join(dir, `tmp-bomb${flag}`);
      await mkdir(tmp);
      const ctx = await context(`bomb${flag}`, `FROM ${ref}\nRUN true\n`);
      const r = await run(
        "/usr/bin/time",
        [
          "-o",
          join(tmp, "..", `rss${flag}`),
          "-f",
          "%M",
          process.execPath,
          MOLT_BIN,
          "build",
          "-c",
          ctx,
          "--no-push",
          "--tar-path",
          join(tmp, "..", "bomb.tar"),
          "--insecure-pull",
          flag,
          value,
        ],
        { env: { ...process.env, TMPDIR: tmp }, allowFail: true },
      );
      expect(r.code).toBe(1);
      const rss = Number((await readFile(join(tmp, "..", `rss${flag}`), "utf8")).trim().split("\n").at(-1));
      const line = errorLine(r.stderr);
      expect(line).toContain("[MOLT_EXTRACT_LIMIT]");
      expect(line).toContain(`layer 2 (sha256:`);
      expect(line).toContain(`at "./big": extracting would write ${what}`);
      expect(await readdir(tmp)).toEqual([]);
      expect(rss).toBeGreaterThan(0);
      expect(rss).toBeLessThan(300 * 1024); // the 1 GiB file never sits in memory
    },
  );
});
