import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type BuildOptions, build } from "@molt/core";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { pushBusybox } from "../harness/base-images.js";
import { pushDebian } from "../harness/debian-image.js";
import { run } from "../harness/exec.js";
import { pushHandMadeImage } from "../harness/hand-image.js";
import { type RunningRegistry, requireBinary, startRegistry } from "../harness/registry.js";
import { maybeGunzip, readTar, type TarEntry } from "../harness/tar-read.js";

/*
 * COPY (and WORKDIR) onto a base image read what they need from the base layers' index: nothing
 * is extracted, a base layer is downloaded at most once (to make the index) and not at all when
 * the index is in the cache, and the image is the one extraction gives (`baseIndex: false`),
 * digest for digest. Expectations on the layers are written by hand from the reference
 * (parents keep the image's mode and owner; missing ones are 0755, owned by the --chown owner).
 */

let registry: RunningRegistry;
let dir: string;
const EPOCH = 1_000_000_000; // clamps every time, so two builds of the same thing are identical

beforeAll(async () => {
  registry = await startRegistry({ accessLog: true });
  dir = await mkdtemp(join(tmpdir(), "molt-e2e-base-index-"));
});
afterAll(async () => {
  await registry?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function context(name: string, dockerfile: string, files: Record<string, string>): Promise<string> {
  const ctx = join(dir, name);
  await mkdir(ctx, { recursive: true });
  await writeFile(join(ctx, "Dockerfile"), dockerfile);
  for (const [p, text] of Object.entries(files)) {
    await mkdir(join(ctx, p, ".."), { recursive: true });
    await writeFile(join(ctx, p), text);
  }
  return ctx;
}

/** Builds and pushes; returns the manifest, the events' types and the base-layer GETs made. */
async function buildAndCount(
  ctx: string,
  tag: string,
  baseLayers: string[],
  extra: Partial<BuildOptions> = {},
) {
  const before = registry.accessLog().length;
  const events: string[] = [];
  const result = await build({
    context: ctx,
    destinations: [`${registry.host}/out/${tag}:latest`],
    registries: { [registry.host]: { insecure: true } },
    tmpDir: dir,
    sourceDateEpoch: EPOCH,
    onProgress: (e) => events.push(e.type),
    ...extra,
  });
  const log = registry.accessLog().slice(before);
  const gets = log.filter((l) => l.startsWith("GET ") && baseLayers.some((d) => l.endsWith(`/blobs/${d}`)));
  return { result, events, gets, log };
}

async function layerEntries(tag: string, digest: string): Promise<Map<string, TarEntry>> {
  const res = await fetch(`http://${registry.host}/v2/out/${tag}/blobs/${digest}`);
  const entries = readTar(maybeGunzip(Buffer.from(await res.arrayBuffer())));
  return new Map(entries.map((e) => [e.path, e]));
}

const pick = (e: TarEntry | undefined) => e && { type: e.type, mode: e.mode, uid: e.uid, gid: e.gid };

describe("a base of several layers: modes, owners, symlinks, whiteouts", () => {
  let base: string;
  let baseLayers: string[];
  beforeAll(async () => {
    requireBinary("tar", "GNU tar");
    const l0 = join(dir, "l0");
    const l1 = join(dir, "l1");
    await run("sh", [
      "-euc",
      `mkdir -p ${l0} ${l1} && cd ${l0}
       mkdir -p etc srv data gone keep/x tmp
       printf 'root:x:0:0::/root:/bin/sh\\napp:x:1234:2345::/home/app:/bin/sh\\n' > etc/passwd
       printf 'root:x:0:\\nappgrp:x:2345:\\nother:x:77:\\n' > etc/group
       chown 1234:2345 srv && chmod 0750 srv
       chown 7:7 data && chmod 0711 data
       ln -s data link
       printf old > gone/old; printf x > keep/x/inside
       chmod 1777 tmp
       cd ${l1}
       : > .wh.gone
       mkdir keep && : > keep/.wh..wh..opq && printf y > keep/y && chmod 0701 keep`,
    ]);
    base = `${registry.host}/test/layered:1`;
    await pushHandMadeImage(base, [{ dir: l0 }, { dir: l1 }]);
    const m = (await (
      await fetch(`http://${registry.host}/v2/test/layered/manifests/1`, {
        headers: { accept: "application/vnd.oci.image.manifest.v1+json" },
      })
    ).json()) as { layers: { digest: string }[] };
    baseLayers = m.layers.map((l) => l.digest);
  });

  const dockerfile = () =>
    [
      `FROM ${base}`,
      "COPY a.txt /srv/",
      "COPY a.txt /link/sub/",
      "COPY --chown=app:appgrp a.txt /gone",
      "COPY a.txt /keep/x",
      "COPY --chown=app a.txt /newdir/deep/",
      "COPY a.txt /tmp/",
      "USER app:other",
      "WORKDIR /work/here",
      "WORKDIR /srv",
      "",
    ].join("\n");

  test("the layers hold what the base's index says, as extraction would, and nothing is extracted", async () => {
    const ctx = await context("layered", dockerfile(), { "a.txt": "a\n" });
    const indexed = await buildAndCount(ctx, "indexed", baseLayers);
    const extracted = await buildAndCount(ctx, "extracted", baseLayers, { baseIndex: false });
    // identical images, whichever way the base was read
    expect(indexed.result.digest).toBe(extracted.result.digest);
    expect(extracted.events).toContain("molt:snapshot:extract-start");
    expect(indexed.events).not.toContain("molt:snapshot:extract-start");
    // each base layer streamed once, to index it (no cache here)
    expect(indexed.gets.sort()).toEqual(baseLayers.map((d) => `GET /v2/test/layered/blobs/${d}`).sort());

    const layers = indexed.result.manifest.layers.map((l) => l.digest).slice(2);
    expect(layers).toHaveLength(7); // six COPYs and one WORKDIR (/srv exists: no layer)
    const [srv, link, gone, keep, newdir, tmp, work] = await Promise.all(
      layers.map((d) => layerEntries("indexed", d)),
    );
    // an existing directory keeps its mode and owner in the layer
    expect(pick(srv!.get("srv"))).toEqual({ type: "5", mode: 0o750, uid: 1234, gid: 2345 });
    expect(pick(srv!.get("srv/a.txt"))).toEqual({ type: "0", mode: 0o644, uid: 0, gid: 0 });
    // through the symlinked directory: written under its target, the link left alone
    expect([...link!.keys()].sort()).toEqual(["data", "data/sub", "data/sub/a.txt"]);
    expect(pick(link!.get("data"))).toEqual({ type: "5", mode: 0o711, uid: 7, gid: 7 });
    expect(pick(link!.get("data/sub"))).toEqual({ type: "5", mode: 0o755, uid: 0, gid: 0 });
    // the whited-out directory is gone: the file takes its name, owned by the names' ids
    expect([...gone!.keys()]).toEqual(["gone"]);
    expect(pick(gone!.get("gone"))).toEqual({ type: "0", mode: 0o644, uid: 1234, gid: 2345 });
    // the opaque keep/ hides keep/x: a file of that name, under keep/ as layer 1 made it
    expect(pick(keep!.get("keep/x"))).toEqual({ type: "0", mode: 0o644, uid: 0, gid: 0 });
    expect(pick(keep!.get("keep"))).toMatchObject({ type: "5", mode: 0o701 });
    // --chown=name alone: the user's primary group from /etc/passwd; new parents are the owner's
    expect(pick(newdir!.get("newdir"))).toEqual({ type: "5", mode: 0o755, uid: 1234, gid: 2345 });
    expect(pick(newdir!.get("newdir/deep/a.txt"))).toEqual({ type: "0", mode: 0o644, uid: 1234, gid: 2345 });
    expect(pick(tmp!.get("tmp"))).toEqual({ type: "5", mode: 0o1777, uid: 0, gid: 0 });
    // WORKDIR after USER app:other: made 0755, owned by 1234:77
    expect(pick(work!.get("work"))).toEqual({ type: "5", mode: 0o755, uid: 1234, gid: 77 });
    expect(pick(work!.get("work/here"))).toEqual({ type: "5", mode: 0o755, uid: 1234, gid: 77 });
  });

  test("with --cache-dir, the next build with changed files downloads no base layer", async () => {
    const cacheDir = join(dir, "cache-layered");
    const ctx = await context("layered-cached", dockerfile(), { "a.txt": "first\n" });
    const first = await buildAndCount(ctx, "c1", baseLayers, {
      cache: { stores: [{ type: "directory", path: cacheDir }] },
    });
    expect(first.gets).toHaveLength(baseLayers.length);
    await writeFile(join(ctx, "a.txt"), "second\n");
    const second = await buildAndCount(ctx, "c2", baseLayers, {
      cache: { stores: [{ type: "directory", path: cacheDir }] },
    });
    expect(second.gets).toEqual([]);
    expect(second.events).not.toContain("molt:snapshot:extract-start");
    // the push mounted the base layers from their repository
    for (const d of baseLayers)
      expect(
        second.log.some((l) => l.startsWith("POST ") && decodeURIComponent(l).includes(`mount=${d}`)),
      ).toBe(true);
    // and the image is extraction's
    const extracted = await buildAndCount(ctx, "c3", baseLayers, { baseIndex: false });
    expect(second.result.digest).toBe(extracted.result.digest);
  });

  test("with --cache-repo (a CI pod with no disk of its own), the second build downloads no base layer", async () => {
    const cacheRepo = `${registry.host}/cache/layered`;
    const ctx = await context("layered-repo", dockerfile(), { "a.txt": "one\n" });
    const first = await buildAndCount(ctx, "r1", baseLayers, {
      cache: { stores: [{ type: "registry", repo: cacheRepo }] },
    });
    expect(first.gets).toHaveLength(baseLayers.length);
    // the index went to the cache repository as a small artifact per layer
    const tags = (await (await fetch(`http://${registry.host}/v2/cache/layered/tags/list`)).json()) as {
      tags: string[];
    };
    expect(tags.tags.filter((t) => t.startsWith("layer-index-"))).toHaveLength(baseLayers.length);
    await writeFile(join(ctx, "a.txt"), "two\n");
    const second = await buildAndCount(ctx, "r2", baseLayers, {
      cache: { stores: [{ type: "registry", repo: cacheRepo }] },
      tmpDir: await mkdtemp(join(dir, "pod-")),
    });
    expect(second.gets).toEqual([]);
    expect(second.events).not.toContain("molt:snapshot:extract-start");
  });
});

test("an /etc/passwd the index holds no body of (a symlink to another name) is read from the extracted root, never guessed", async () => {
  const l0 = join(dir, "hl0");
  await run("sh", [
    "-euc",
    `mkdir -p ${l0}/usr/share ${l0}/etc && cd ${l0}
     printf 'root:x:0:0::/root:/bin/sh\\nsvc:x:4321:8765::/:/bin/sh\\n' > usr/share/passwd.master
     ln -s ../usr/share/passwd.master etc/passwd`,
  ]);
  const base = `${registry.host}/test/hardlinked:1`;
  await pushHandMadeImage(base, [{ dir: l0 }]);
  const ctx = await context("hardlinked", `FROM ${base}\nCOPY --chown=svc a.txt /opt/\n`, { "a.txt": "a\n" });
  const built = await buildAndCount(ctx, "hl", []);
  expect(built.events).toContain("molt:snapshot:extract-start");
  const layer = await layerEntries("hl", built.result.manifest.layers[1]!.digest);
  expect(pick(layer.get("opt/a.txt"))).toEqual({ type: "0", mode: 0o644, uid: 4321, gid: 8765 });
});

test("busybox: COPY --chown=user into the image's own directories, as extraction gives it", async () => {
  await pushBusybox(registry.host);
  const ctx = await context(
    "busybox",
    [
      `FROM ${registry.host}/test/busybox:latest`,
      "COPY --chown=user:staff a.txt /etc/app/",
      "COPY a.txt /bin/",
      "",
    ].join("\n"),
    { "a.txt": "a\n" },
  );
  const indexed = await buildAndCount(ctx, "bb1", []);
  const extracted = await buildAndCount(ctx, "bb2", [], { baseIndex: false });
  expect(indexed.result.digest).toBe(extracted.result.digest);
  expect(indexed.events).not.toContain("molt:snapshot:extract-start");
  const etc = await layerEntries("bb1", indexed.result.manifest.layers[1]!.digest);
  expect(pick(etc.get("etc/app/a.txt"))).toEqual({ type: "0", mode: 0o644, uid: 1000, gid: 50 });
  expect(pick(etc.get("etc/app"))).toEqual({ type: "5", mode: 0o755, uid: 1000, gid: 50 });
  expect(pick(etc.get("etc"))).toMatchObject({ type: "5", uid: 0, gid: 0 });
});

test("Debian + COPY of 20 files: the 51 MB base is streamed once to index it, then never again (--cache-dir)", async () => {
  requireBinary("debootstrap", "Debian package debootstrap");
  const debian = await pushDebian(registry.host);
  const files: Record<string, string> = {};
  for (let i = 0; i < 20; i++) files[`app/f${i}.txt`] = `file ${i}\n`;
  const ctx = await context(
    "debian",
    `FROM ${debian}\nCOPY app /app/\nCOPY --chown=nobody:nogroup app/f1.txt /var/tmp/\n`,
    files,
  );
  const m = (await (
    await fetch(`http://${registry.host}/v2/test/debian/manifests/bookworm`, {
      headers: { accept: "application/vnd.oci.image.manifest.v1+json" },
    })
  ).json()) as { layers: { digest: string }[] };
  const baseLayers = m.layers.map((l) => l.digest);
  const cacheDir = join(dir, "cache-debian");
  const first = await buildAndCount(ctx, "deb1", baseLayers, {
    cache: { stores: [{ type: "directory", path: cacheDir }] },
  });
  expect(first.gets).toHaveLength(1);
  expect(first.events).not.toContain("molt:snapshot:extract-start");
  await writeFile(join(ctx, "app/f0.txt"), "changed\n");
  const second = await buildAndCount(ctx, "deb2", baseLayers, {
    cache: { stores: [{ type: "directory", path: cacheDir }] },
  });
  expect(second.gets).toEqual([]);
  const extracted = await buildAndCount(ctx, "deb3", baseLayers, { baseIndex: false });
  expect(second.result.digest).toBe(extracted.result.digest);
  const layer = await layerEntries("deb2", second.result.manifest.layers[2]!.digest);
  // nobody:nogroup from Debian's own /etc/passwd and /etc/group; /var/tmp keeps 1777
  expect(pick(layer.get("var/tmp/f1.txt"))).toEqual({ type: "0", mode: 0o644, uid: 65534, gid: 65534 });
  expect(pick(layer.get("var/tmp"))).toEqual({ type: "5", mode: 0o1777, uid: 0, gid: 0 });
}, 300_000);
