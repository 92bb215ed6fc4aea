import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, test } from "vitest";
import { buildAndUnpack } from "../harness/molt-cli.js";

// Issue 14 bug 1: a directory deleted and re-created within one RUN must not bring its old files
// back, in either snapshot mode, with or without the optional `attr` programs (getfattr/setfattr).
// Expected trees written from what the RUN commands do (the image is unpacked by umoci).
const registry = inject("registry");
const BASE = `${registry}/test/busybox:latest`;
let dir: string;
let noAttrPath: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "molt-e2e-replace-"));
  // A PATH with every system program but getfattr and setfattr.
  noAttrPath = join(dir, "path");
  await mkdir(noAttrPath);
  for (const d of ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"]) {
    for (const name of await readdir(d).catch(() => [] as string[])) {
      if (name === "getfattr" || name === "setfattr") continue;
      await symlink(join(d, name), join(noAttrPath, name)).catch(() => {});
    }
  }
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const DOCKERFILE = `FROM ${BASE}
RUN mkdir -p /opt/a/b/sub && echo 1 > /opt/a/b/f && echo 2 > /opt/a/b/sub/g && echo k > /opt/a/keep
RUN rm -rf /opt/a/b && mkdir -p /opt/a/b/sub && echo 3 > /opt/a/b/new
`;

let n = 0;
describe.each(["overlay", "walk"] as const)("--snapshotter %s", (mode) => {
  test.each([
    ["with getfattr", false],
    ["without getfattr/setfattr on PATH", true],
  ] as const)(
    "a directory deleted and re-created in one RUN keeps none of its old files (%s)",
    async (_l, noAttr) => {
      const ctx = join(dir, `ctx${++n}`);
      await mkdir(ctx);
      await writeFile(join(ctx, "Dockerfile"), DOCKERFILE);
      const env = noAttr ? { ...process.env, PATH: noAttrPath } : process.env;
      const r = await buildAndUnpack(ctx, join(dir, `w${n}`), ["--snapshotter", mode], { env });
      expect(r.stderr).not.toMatch(/molt: error/);
      expect(r.code).toBe(0);
      const b = join(r.rootfs, "opt", "a", "b");
      expect((await readdir(b)).sort()).toEqual(["new", "sub"]);
      expect(await readFile(join(b, "new"), "utf8")).toBe("3\n");
      expect(await readdir(join(b, "sub"))).toEqual([]);
      expect(await readFile(join(r.rootfs, "opt", "a", "keep"), "utf8")).toBe("k\n");
    },
  );
});
