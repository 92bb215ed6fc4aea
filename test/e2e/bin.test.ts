import { cp, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { run } from "../harness/exec.js";
import { MOLT_BIN, MOLT_LAUNCHER } from "../harness/molt-cli.js";

/*
 * The package's bin as npm and pnpm install it: a symlink in node_modules/.bin to bin/molt (a
 * shell script), which runs the rolldown bundle in dist/bundle with node.
 */
let dir: string;
let link: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "molt-e2e-bin-"));
  await mkdir(join(dir, ".bin"));
  link = join(dir, ".bin", "molt");
  await symlink(MOLT_LAUNCHER, link);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("the molt bin", () => {
  test("--version through a symlink prints the package's version", async () => {
    const pkg = JSON.parse(await readFile(join(MOLT_LAUNCHER, "..", "..", "package.json"), "utf8"));
    const r = await run(link, ["--version"]);
    expect(r.stdout).toBe(`molt ${pkg.version} (node ${process.version}, linux/amd64)\n`);
  });

  test("run by its absolute path, or by a relative one from its package, it finds the bundle", async () => {
    const pkgDir = join(MOLT_LAUNCHER, "..", "..");
    const pkg = JSON.parse(await readFile(join(pkgDir, "package.json"), "utf8"));
    const want = `molt ${pkg.version} (node ${process.version}, linux/amd64)\n`;
    expect((await run(MOLT_LAUNCHER, ["--version"])).stdout).toBe(want);
    // A relative $0 has no /bin/ with a leading slash to cut at: the launcher resolves it first.
    const rel = await run("sh", ["-c", 'cd "$1" && ./bin/molt --version', "sh", pkgDir]);
    expect(rel.stdout).toBe(want);
    const ctx = join(dir, "ctx-rel");
    await mkdir(ctx);
    await writeFile(join(ctx, "Dockerfile"), "FROM scratch\nENV A=1\n");
    const b = await run("sh", ["-c", 'cd "$1" && ./bin/molt build -c "$2" --no-push', "sh", pkgDir, ctx], {
      env: { ...process.env, TMPDIR: dir },
    });
    expect(b.stdout).toMatch(/^sha256:[0-9a-f]{64}\n$/);
  });

  test("the bundle is whole: copied where no node_modules can be found, it still builds", async () => {
    // Nothing above a temp dir holds node_modules: an import the bundle left outside would fail.
    const alone = join(dir, "alone");
    await cp(join(MOLT_BIN, ".."), join(alone, "dist", "bundle"), { recursive: true });
    const ctx = join(dir, "ctx-alone");
    await mkdir(ctx);
    await writeFile(join(ctx, "Dockerfile"), "FROM scratch\nENV A=1\n");
    const r = await run(
      process.execPath,
      [join(alone, "dist", "bundle", "bin.js"), "build", "-c", ctx, "--no-push"],
      {
        env: { ...process.env, TMPDIR: dir, MOLT_MOUNT_NAMESPACE: "0" },
        allowFail: true,
      },
    );
    expect(r.stderr).not.toContain("ERR_MODULE_NOT_FOUND");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^sha256:[0-9a-f]{64}\n$/);
  });

  test("a build through the bin writes its image and exits 0", async () => {
    const ctx = join(dir, "ctx");
    await mkdir(ctx);
    await writeFile(join(ctx, "Dockerfile"), "FROM scratch\nENV A=1\n");
    const layout = join(dir, "layout");
    const r = await run(link, ["build", "-c", ctx, "--no-push", "--oci-layout-path", layout], {
      env: { ...process.env, TMPDIR: dir },
    });
    expect(r.code).toBe(0);
    const index = JSON.parse(await readFile(join(layout, "index.json"), "utf8"));
    expect(index.manifests).toHaveLength(1);
    expect(r.stdout.trim()).toBe(index.manifests[0].digest);
  });
});
