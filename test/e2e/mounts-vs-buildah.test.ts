import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, inject, test } from "vitest";
import { run } from "../harness/exec.js";
import { molt } from "../harness/molt-cli.js";
import { requireBinary } from "../harness/registry.js";
import { diffTrees, readTree } from "../harness/tree-diff.js";

// buildah 1.28 as the reference for the mounts it supports (bind from the context and from a
// stage, cache, tmpfs, secret): the same Dockerfile built by both gives the same files, modes
// and owners. What differs, and why, is in JUSTIFIED.
const registry = inject("registry");
let dir: string;

/**
 * - `dev`, `proc`, `sys`, `run`, `etc/hostname|hosts|resolv.conf`: buildah keeps the mount points
 *   of its runtime in the image (see run-vs-buildah.test.ts).
 * - buildah keeps the `RUN --mount` targets it had to create (`/ctx`, `/stage`, `/cache`, `/t`, and
 *   `/run/secrets` under `run`); BuildKit removes them after the step, and so does molt (the
 *   reference we follow). The test checks that buildah's are empty.
 */
const JUSTIFIED: RegExp[] = [
  /^\+(dev|proc|sys|run)$/,
  /^\+run\/secrets$/,
  /^\+etc\/(hostname|hosts|resolv\.conf)$/,
  /^\+(ctx|stage|cache|t)$/,
];

beforeAll(async () => {
  requireBinary("buildah", "Debian package buildah");
  dir = await mkdtemp(join(tmpdir(), "molt-e2e-mounts-buildah-"));
});
afterAll(async () => {
  const b = ["--root", join(dir, "b-root"), "--runroot", join(dir, "b-run"), "--storage-driver", "vfs"];
  await run("buildah", [...b, "rm", "--all"], { allowFail: true });
  await rm(dir, { recursive: true, force: true });
});

test("molt and buildah bud give the same tree for bind, cache, tmpfs and secret mounts", async () => {
  const ctx = join(dir, "ctx");
  await mkdir(join(ctx, "src"), { recursive: true });
  await writeFile(join(ctx, "src", "input.txt"), "from the context\n");
  const secret = join(dir, "token");
  await writeFile(secret, "not-in-the-image");
  await writeFile(
    join(ctx, "Dockerfile"),
    [
      `FROM ${registry}/test/busybox:latest AS builder`,
      "RUN mkdir /out && echo built > /out/artefact",
      `FROM ${registry}/test/busybox:latest`,
      "RUN --mount=type=bind,target=/ctx cp /ctx/src/input.txt /copied.txt",
      "RUN --mount=type=bind,from=builder,source=/out,target=/stage cp /stage/artefact /artefact",
      `RUN --mount=type=cache,target=/cache,id=molt-cmp-${process.pid}-${Date.now()} echo cached >> /cache/log && wc -l < /cache/log > /cache-lines`, // a fresh id: buildah keeps its caches machine-wide
      "RUN --mount=type=tmpfs,target=/t echo scratch > /t/f && cat /t/f > /tmpfs-used",
      "RUN --mount=type=secret,id=tok wc -c < /run/secrets/tok > /secret-size",
      "",
    ].join("\n"),
  );
  const ours = join(dir, "ours");
  const r = await molt([
    "build",
    "-c",
    ctx,
    "--no-push",
    "--oci-layout-path",
    ours,
    "--insecure-pull",
    "--secret",
    `id=tok,src=${secret}`,
    "--cache-mount-dir",
    join(dir, "cache-mounts"),
  ]);
  expect(r.code, r.stderr).toBe(0);

  const b = ["--root", join(dir, "b-root"), "--runroot", join(dir, "b-run"), "--storage-driver", "vfs"];
  await run("buildah", [
    ...b,
    "bud",
    "--isolation",
    "chroot",
    "--tls-verify=false",
    "-q",
    "--secret",
    `id=tok,src=${secret}`,
    "-t",
    "cmp",
    ctx,
  ]);
  const theirs = join(dir, "theirs");
  await run("buildah", [...b, "push", "-q", "cmp", `oci:${theirs}:latest`]);

  await run("umoci", ["unpack", "--image", `${ours}:latest`, join(dir, "ours-bundle")]);
  await run("umoci", ["unpack", "--image", `${theirs}:latest`, join(dir, "theirs-bundle")]);
  const a = await readTree(join(dir, "ours-bundle", "rootfs"));
  const t = await readTree(join(dir, "theirs-bundle", "rootfs"));
  expect(diffTrees(a, t).filter((d) => !JUSTIFIED.some((re) => re.test(d)))).toEqual([]);
  for (const p of ["ctx", "stage", "cache", "t", "run/secrets"]) {
    if (t.has(p))
      expect(
        [...t.keys()].filter((k) => k.startsWith(`${p}/`)),
        p,
      ).toEqual([]);
  }
  const content = (p: string) => a.get(p)?.content;
  const sha = async (s: string) => (await import("node:crypto")).createHash("sha256").update(s).digest("hex");
  expect(content("copied.txt")).toBe(await sha("from the context\n"));
  expect(content("artefact")).toBe(await sha("built\n"));
  expect(content("cache-lines")).toBe(await sha("1\n"));
  expect(content("secret-size")).toBe(await sha("16\n"));
  for (const p of ["ctx", "stage", "cache", "t", "run"]) expect(a.has(p), p).toBe(false);
}, 300_000);
