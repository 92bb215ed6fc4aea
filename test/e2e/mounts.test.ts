import { lstat, mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { build } from "molt";
import { afterAll, beforeAll, describe, expect, inject, test } from "vitest";
import { writeContext } from "../harness/context-dir.js";
import { run } from "../harness/exec.js";

const registry = inject("registry");
const BASE = `${registry}/test/busybox:latest`;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "molt-e2e-mounts-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const context = (name: string, dockerfile: string, files: Record<string, string> = {}): Promise<string> =>
  writeContext(join(dir, name), dockerfile, files);

/** Builds to an OCI layout with the library and unpacks it with umoci; returns the rootfs, the layout and the build's log lines. */
async function buildUnpack(
  ctx: string,
  name: string,
  opts: Partial<Parameters<typeof build>[0]> = {},
): Promise<{ rootfs: string; layout: string; log: string[] }> {
  const layout = join(dir, `${name}-layout`);
  const log: string[] = [];
  await build({
    context: ctx,
    noPush: true,
    ociLayoutPath: layout,
    registries: { "*": { pull: { insecure: true } } },
    cacheMounts: { dir: join(dir, "cache-mounts") },
    onProgress: (e) => {
      if (e.type === "molt:step:log") log.push(...e.lines);
    },
    ...opts,
  });
  const bundle = join(dir, `${name}-bundle`);
  await run("umoci", ["unpack", "--image", `${layout}:latest`, bundle]);
  return { rootfs: join(bundle, "rootfs"), layout, log };
}

async function exists(p: string): Promise<boolean> {
  return lstat(p).then(
    () => true,
    () => false,
  );
}

for (const snapshotMode of ["walk", "overlay"] as const) {
  describe(`RUN --mount bind/cache/tmpfs on busybox (${snapshotMode} snapshots)`, () => {
    test("bind from the context: read-only by default, rw writes discarded, targets gone from the layer", async () => {
      const ctx = await context(
        `bind-${snapshotMode}`,
        [
          `FROM ${BASE}`,
          "RUN --mount=target=/ctx cat /ctx/data/a.txt > /a-copy && ls /ctx > /ctx-list && ! touch /ctx/nope 2>/dev/null",
          "RUN --mount=source=data,target=/deep/new/dir,rw echo scribble > /deep/new/dir/a.txt && cat /deep/new/dir/a.txt > /rw-seen",
          "RUN --mount=source=data/a.txt,target=/etc/a-file cat /etc/a-file > /file-copy",
          "",
        ].join("\n"),
        { "data/a.txt": "alpha\n", "secret.key": "ignored\n", ".dockerignore": "secret.key\n" },
      );
      const { rootfs } = await buildUnpack(ctx, `bind-${snapshotMode}`, { snapshotMode });
      expect(await readFile(join(rootfs, "a-copy"), "utf8")).toBe("alpha\n");
      // .dockerignore applies: the ignored file is not in the mount
      const listed = (await readFile(join(rootfs, "ctx-list"), "utf8")).split("\n").filter(Boolean);
      expect(listed).toContain("Dockerfile");
      expect(listed).toContain("data");
      expect(listed).not.toContain("secret.key");
      expect(await readFile(join(rootfs, "rw-seen"), "utf8")).toBe("scribble\n");
      expect(await readFile(join(rootfs, "file-copy"), "utf8")).toBe("alpha\n");
      // mount targets and the parents made only for them are not in the image
      for (const p of ["ctx", "deep", "etc/a-file"]) expect(await exists(join(rootfs, p)), p).toBe(false);
      // rw writes went to a throwaway copy: the context is untouched
      expect(await readFile(join(ctx, "data/a.txt"), "utf8")).toBe("alpha\n");
    });

    test("bind from a stage and from an image, with and without rw", async () => {
      const ctx = await context(
        `bind-from-${snapshotMode}`,
        [
          `FROM ${BASE} AS tools`,
          "RUN mkdir -p /out && echo built > /out/artefact",
          `FROM ${BASE}`,
          "RUN --mount=from=tools,source=/out,target=/mnt cat /mnt/artefact > /from-stage && ! touch /mnt/x 2>/dev/null",
          "RUN --mount=from=tools,source=/out,target=/mnt,rw echo changed > /mnt/artefact && cat /mnt/artefact > /rw-stage",
          "RUN --mount=from=tools,source=/out,target=/mnt cat /mnt/artefact > /after-rw",
          `RUN --mount=from=${BASE},source=/bin/busybox,target=/img-busybox test -x /img-busybox && echo ok > /from-image`,
          "",
        ].join("\n"),
      );
      const { rootfs } = await buildUnpack(ctx, `bind-from-${snapshotMode}`, { snapshotMode });
      expect(await readFile(join(rootfs, "from-stage"), "utf8")).toBe("built\n");
      expect(await readFile(join(rootfs, "rw-stage"), "utf8")).toBe("changed\n");
      expect(await readFile(join(rootfs, "after-rw"), "utf8")).toBe("built\n");
      expect(await readFile(join(rootfs, "from-image"), "utf8")).toBe("ok\n");
      expect(await exists(join(rootfs, "mnt"))).toBe(false);
      expect(await exists(join(rootfs, "img-busybox"))).toBe(false);
    });

    test("cache persists across builds, never in a layer; tmpfs is empty and sized", async () => {
      const ctx = await context(
        `cache-${snapshotMode}`,
        [
          `FROM ${BASE}`,
          "ARG ROUND",
          "RUN --mount=type=cache,target=/var/cache/thing,id=thing-" +
            snapshotMode +
            " echo $ROUND >> /var/cache/thing/rounds && cat /var/cache/thing/rounds > /seen",
          "RUN --mount=type=tmpfs,target=/scratch,size=1m df -k /scratch | tail -1 > /tmpfs-df && ls -A /scratch > /tmpfs-ls && ! dd if=/dev/zero of=/scratch/big bs=1k count=2048 2>/dev/null",
          "",
        ].join("\n"),
      );
      const a = await buildUnpack(ctx, `cache1-${snapshotMode}`, {
        snapshotMode,
        buildArgs: { ROUND: "one" },
      });
      expect(await readFile(join(a.rootfs, "seen"), "utf8")).toBe("one\n");
      const b = await buildUnpack(ctx, `cache2-${snapshotMode}`, {
        snapshotMode,
        buildArgs: { ROUND: "two" },
      });
      expect(await readFile(join(b.rootfs, "seen"), "utf8")).toBe("one\ntwo\n");
      // busybox has no /var: the target and its parents made for the mount are gone
      expect(await exists(join(b.rootfs, "var"))).toBe(false);
      expect((await readFile(join(b.rootfs, "tmpfs-df"), "utf8")).split(/\s+/)[1]).toBe("1024");
      expect(await readFile(join(b.rootfs, "tmpfs-ls"), "utf8")).toBe("");
      expect(await exists(join(b.rootfs, "scratch"))).toBe(false);
    });
  });
}

describe("RUN --mount errors", () => {
  test("a missing bind source is a located error, and nothing is left behind", async () => {
    const ctx = await context(
      "bind-missing",
      [`FROM ${BASE}`, "RUN true", "RUN --mount=source=nope,target=/x true", ""].join("\n"),
    );
    const tmp = await mkdtemp(join(dir, "tmp-"));
    const err = await buildUnpack(ctx, "bind-missing", { tmpDir: tmp }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "MOLT_MOUNT_SOURCE_NOT_FOUND" });
    expect((err as Error).message).toMatch(/Dockerfile:3:1: .*"nope" not found in the build context/);
    expect(await readdir(tmp)).toEqual([]);
  });
  test("a missing from= stage source is a located error", async () => {
    const ctx = await context(
      "bind-missing-stage",
      [`FROM ${BASE} AS a`, `FROM ${BASE}`, "RUN --mount=from=a,source=/nope,target=/x true", ""].join("\n"),
    );
    const err = await buildUnpack(ctx, "bind-missing-stage").catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "MOLT_MOUNT_SOURCE_NOT_FOUND" });
    expect((err as Error).message).toMatch(/Dockerfile:3:1: /);
  });
});

describe("RUN --mount=type=cache options", () => {
  test("a new cache is seeded from from=/source and made with mode/uid/gid; ro refuses writes", async () => {
    const id = `seeded-${process.pid}`;
    const ctx = await context(
      "cache-opts",
      [
        `FROM ${BASE} AS seed`,
        "RUN mkdir -p /seed && echo from-seed > /seed/file",
        `FROM ${BASE}`,
        `RUN --mount=type=cache,id=${id},target=/c,from=seed,source=/seed,mode=0700,uid=1000,gid=1000 cat /c/file > /seen && stat -c '%a %u %g' /c > /stat`,
        `RUN --mount=type=cache,id=${id},target=/c,ro cat /c/file > /seen-ro && ! touch /c/nope 2>/dev/null`,
        "",
      ].join("\n"),
    );
    const { rootfs } = await buildUnpack(ctx, "cache-opts");
    expect(await readFile(join(rootfs, "seen"), "utf8")).toBe("from-seed\n");
    expect(await readFile(join(rootfs, "stat"), "utf8")).toBe("700 1000 1000\n");
    expect(await readFile(join(rootfs, "seen-ro"), "utf8")).toBe("from-seed\n");
    expect(await exists(join(rootfs, "c"))).toBe(false);
  });
});
