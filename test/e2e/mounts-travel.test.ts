import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { build } from "molt";
import { afterAll, beforeAll, expect, inject, test } from "vitest";
import { run } from "../harness/exec.js";

// --cache-mount-repo: a cache mount filled on one "machine" (cache dir) is found on another
// through the real registry; an unchanged cache is not pushed again.
const registry = inject("registry");
const BASE = `${registry}/test/busybox:latest`;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "molt-e2e-travel-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function buildWith(
  name: string,
  cacheDir: string,
  round: string,
): Promise<{ rootfs: string; log: string[] }> {
  const ctx = join(dir, name);
  await mkdir(ctx, { recursive: true });
  await writeFile(
    join(ctx, "Dockerfile"),
    [
      `FROM ${BASE}`,
      "ARG ROUND",
      `RUN --mount=type=cache,id=travel-${process.pid},target=/c if [ "$ROUND" != keep ]; then echo $ROUND >> /c/log; fi; cat /c/log > /seen; ls -ln /c | tail -n +2 | awk '{print $3":"$4}' > /owners`,
      "",
    ].join("\n"),
  );
  const layout = join(dir, `${name}-layout`);
  const log: string[] = [];
  await build({
    context: ctx,
    noPush: true,
    ociLayoutPath: layout,
    registries: { "*": { pull: { insecure: true } }, [registry]: { insecure: true } },
    cacheMounts: { dir: cacheDir, repo: `${registry}/e2e/cache-mounts` },
    buildArgs: { ROUND: round },
    onProgress: (e) => {
      if (e.type === "molt:step:log") log.push(...e.lines);
    },
  });
  const bundle = join(dir, `${name}-bundle`);
  await run("umoci", ["unpack", "--image", `${layout}:latest`, bundle]);
  return { rootfs: join(bundle, "rootfs"), log };
}

async function tagDigest(): Promise<string | undefined> {
  const { createHash } = await import("node:crypto");
  const tag = `mount-${createHash("sha256").update(`travel-${process.pid}`).digest("hex").slice(0, 40)}`;
  const r = await run(
    "skopeo",
    ["inspect", "--tls-verify=false", "--raw", `docker://${registry}/e2e/cache-mounts:${tag}`],
    { allowFail: true },
  );
  return r.code === 0 ? createHash("sha256").update(r.stdout).digest("hex") : undefined;
}

test("a cache mount pushed after one build is pulled by a build on another machine", async () => {
  expect(await tagDigest()).toBeUndefined();
  const a = await buildWith("a", join(dir, "machine-a"), "one");
  expect(await readFile(join(a.rootfs, "seen"), "utf8")).toBe("one\n");
  const pushed = await tagDigest();
  expect(pushed).toBeDefined();
  // machine B has no local cache: it pulls A's on the first mount, adds to it, pushes it back
  const b = await buildWith("b", join(dir, "machine-b"), "two");
  expect(await readFile(join(b.rootfs, "seen"), "utf8")).toBe("one\ntwo\n");
  expect(await readFile(join(b.rootfs, "owners"), "utf8")).toBe("0:0\n");
  const second = await tagDigest();
  expect(second).not.toBe(pushed);
  // machine C, fresh, gets B's content
  const d = await buildWith("d", join(dir, "machine-c"), "keep");
  expect(await readFile(join(d.rootfs, "seen"), "utf8")).toBe("one\ntwo\n");
  // unchanged: nothing pushed. Put another manifest under the tag: an export would replace it.
  const { createHash } = await import("node:crypto");
  const tag = `mount-${createHash("sha256").update(`travel-${process.pid}`).digest("hex").slice(0, 40)}`;
  await run("skopeo", [
    "copy",
    "--quiet",
    "--src-tls-verify=false",
    "--dest-tls-verify=false",
    `docker://${BASE}`,
    `docker://${registry}/e2e/cache-mounts:${tag}`,
  ]);
  const planted = await tagDigest();
  const c = await buildWith("c", join(dir, "machine-b"), "keep");
  expect(await readFile(join(c.rootfs, "seen"), "utf8")).toBe("one\ntwo\n");
  expect(await tagDigest()).toBe(planted);
}, 120_000);
