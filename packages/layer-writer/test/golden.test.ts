import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import {
  chmod,
  chown,
  lstat,
  mkdir,
  mkdtemp,
  readFile,
  rm,
  stat,
  symlink,
  writeFile,
} from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { type LayerResult, writeLayer } from "@molt/layer-writer";
import {
  type Change,
  type Descriptor,
  ImageValidationError,
  serialize,
  validateImage,
  writeDockerArchive,
  writeOciArchive,
  writeOciLayout,
} from "@molt/oci";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { busyboxLayout } from "../../../test/harness/base-images.js";
import { createPodman } from "../../../test/harness/podman.js";
import { requireBinary } from "../../../test/harness/registry.js";
import { assembleImage, BlobStore, importBusybox, run, sourceOf, treeChanges } from "./helpers.js";

const UTC = { ...process.env, TZ: "UTC" };
const LONG = "x".repeat(200);
const LONG_TARGET = `/target/${"y".repeat(200)}`;
const STAMP = "2024-05-06 07:08:09";
const BIG = Buffer.alloc(3 * 1024 * 1024 + 123);
for (let i = 0, s = 7; i < BIG.length; i++) {
  s = (s * 1103515245 + 12345) & 0x7fffffff;
  BIG[i] = i % 3 === 0 ? s & 0xff : 0x61 + (i % 7); // partly compressible
}
const sha = (b: Buffer) => createHash("sha256").update(b).digest("hex");

let work: string;
let tree: string;
let store: BlobStore;
let layer: LayerResult;
let tarBytes: Buffer;

/** Builds the fixture tree with real tools: every entry type, caps, xattrs, hardlinks, long names. */
async function makeFixture(root: string): Promise<void> {
  const w = (p: string, s: string | Buffer) => writeFile(join(root, p), s);
  for (const d of ["a", "big", "bin", "dev", "etc", "long", "run"]) await mkdir(join(root, d));
  await chmod(join(root, "a"), 0o700);
  await w("bin/tool", "#!/bin/sh\necho tool\n");
  await chmod(join(root, "bin/tool"), 0o755);
  await run("setcap", ["cap_net_raw+ep", join(root, "bin/tool")]);
  await w("etc/conf", "key=value\n");
  await chmod(join(root, "etc/conf"), 0o640);
  await chown(join(root, "etc/conf"), 1000, 50);
  await run("setfattr", ["-n", "user.comment", "-v", "héllo", join(root, "etc/conf")]);
  await run("setfattr", ["-n", "trusted.t", "-v", "0x00ff01", join(root, "etc/conf")]);
  await run("ln", [join(root, "etc/conf"), join(root, "etc/conf-link")]);
  await run("ln", [join(root, "etc/conf"), join(root, "a/first")]);
  await w(`long/${LONG}`, "long\n");
  await symlink(LONG_TARGET, join(root, "long/sym"));
  await run("mknod", ["-m", "666", join(root, "dev/null"), "c", "1", "3"]);
  await run("mknod", ["-m", "660", join(root, "dev/loop0"), "b", "7", "0"]);
  await run("mkfifo", ["-m", "600", join(root, "run/fifo")]);
  await new Promise<void>((resolve, reject) => {
    const srv = createServer();
    srv.on("error", reject);
    srv.listen(join(root, "run/sock"), () => {
      // close the server but keep the socket file: unref and leave it listening until the process ends
      srv.unref();
      resolve();
    });
  });
  await w("big-ids", "ids\n");
  await chown(join(root, "big-ids"), 3_000_000, 2_500_000);
  await w("big/blob", BIG);
  await w("time", "");
  await run("find", [root, "-mindepth", "1", "-exec", "touch", "-h", "-d", STAMP, "{}", "+"], { env: UTC });
  await run("touch", ["-d", "2023-01-02 03:04:05.123456789", join(root, "time")], { env: UTC });
}

beforeAll(async () => {
  for (const b of ["setcap", "setfattr", "getfattr", "mknod", "tar"])
    requireBinary(b, "libcap2-bin / attr / tar");
  work = await mkdtemp(join(tmpdir(), "molt-golden-"));
  tree = join(work, "tree");
  await mkdir(tree);
  await makeFixture(tree);
  store = await BlobStore.open(join(work, "blobs"));
  // Nanosecond mtimes, so the fixture also covers the PAX mtime record (the default is whole
  // seconds, tested in write-layer.test.ts).
  layer = await writeLayer(await treeChanges(tree), store, {
    compression: "gzip",
    mtimePrecision: "nanosecond",
  });
  tarBytes = gunzipSync(await readFile(store.path(layer.digest)));
});

afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

describe("golden layer from a fixture tree", () => {
  it("has the digests, sizes and media type of its bytes", async () => {
    const blob = await readFile(store.path(layer.digest));
    expect(`sha256:${sha(blob)}`).toBe(layer.digest);
    expect(blob.length).toBe(layer.size);
    expect(`sha256:${sha(tarBytes)}`).toBe(layer.diffId);
    expect(tarBytes.length).toBe(layer.uncompressedSize);
    expect(layer.mediaType).toBe("application/vnd.oci.image.layer.v1.tar+gzip");
    // the fixed gzip header: magic, deflate, no flags, mtime 0, xfl 0, OS unknown
    expect([...blob.subarray(0, 10)]).toEqual([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff]);
    // the 3 MiB file spans several parallel-compressed blocks
    expect(layer.uncompressedSize).toBeGreaterThan(3 * 1024 * 1024);
    expect(await run("gzip", ["-t", store.path(layer.digest)]).then((r) => r.code)).toBe(0);
  });

  it("is listed by GNU tar exactly as written by hand (order, modes, owners, sizes, links, times)", async () => {
    const r = await run(
      "tar",
      ["--xattrs", "--xattrs-include=*", "--numeric-owner", "--full-time", "-tvzf", store.path(layer.digest)],
      { env: UTC },
    );
    const lines = r.stdout
      .trim()
      .split("\n")
      .map((l) => l.trim().split(/\s+/).join(" "));
    const t = STAMP;
    expect(lines).toEqual([
      `drwx------ 0/0 0 ${t} a/`,
      `-rw-r-----* 1000/50 10 ${t} a/first`,
      `drwxr-xr-x 0/0 0 ${t} big/`,
      `-rw-r--r-- 0/0 ${BIG.length} ${t} big/blob`,
      `-rw-r--r-- 3000000/2500000 4 ${t} big-ids`,
      `drwxr-xr-x 0/0 0 ${t} bin/`,
      `-rwxr-xr-x* 0/0 20 ${t} bin/tool`,
      `drwxr-xr-x 0/0 0 ${t} dev/`,
      `brw-rw---- 0/0 7,0 ${t} dev/loop0`,
      `crw-rw-rw- 0/0 1,3 ${t} dev/null`,
      `drwxr-xr-x 0/0 0 ${t} etc/`,
      `hrw-r----- 1000/50 0 ${t} etc/conf link to a/first`,
      `hrw-r----- 1000/50 0 ${t} etc/conf-link link to a/first`,
      `drwxr-xr-x 0/0 0 ${t} long/`,
      `lrwxrwxrwx 0/0 0 ${t} long/sym -> ${LONG_TARGET}`,
      `-rw-r--r-- 0/0 5 ${t} long/${LONG}`,
      `drwxr-xr-x 0/0 0 ${t} run/`,
      `prw------- 0/0 0 ${t} run/fifo`,
      `-rw-r--r-- 0/0 0 2023-01-02 03:04:05.123456789 time`,
    ]);
  });

  it("carries PAX records byte for byte as the spec spells them", () => {
    // "<len> <key>=<value>\n", len counting the whole record (POSIX pax, Extended Header Format)
    expect(tarBytes.includes(Buffer.from("30 mtime=1672628645.123456789\n"))).toBe(true);
    expect(tarBytes.includes(Buffer.from("15 uid=3000000\n"))).toBe(true);
    expect(tarBytes.includes(Buffer.from("15 gid=2500000\n"))).toBe(true);
    // vfs_cap_data v2: magic 0x02000001 (revision 2, effective), permitted = 1 << CAP_NET_RAW(13)
    const cap = Buffer.from("0100000200200000000000000000000000000000", "hex");
    const rec = Buffer.concat([Buffer.from("57 SCHILY.xattr.security.capability="), cap, Buffer.from("\n")]);
    expect(tarBytes.includes(rec)).toBe(true);
    expect(tarBytes.includes(Buffer.from("30 SCHILY.xattr.trusted.t=\x00\xff\x01\n", "latin1"))).toBe(true);
    expect(tarBytes.includes(Buffer.from(`215 path=long/${LONG}\n`))).toBe(true);
    // no owner names anywhere: uname/gname fields (offsets 265, 297) of the first header are empty
    expect(tarBytes.subarray(265, 265 + 64).every((b) => b === 0)).toBe(true);
    // no "/" or "./" entry: the first header is "a/"
    expect(tarBytes.subarray(0, 3).toString()).toBe("a/\0");
  });

  it("extracts with GNU tar to the same files, caps, xattrs, devices, hardlinks and times", async () => {
    const out = join(work, "gnu-extract");
    await mkdir(out);
    await run("tar", [
      "--xattrs",
      "--xattrs-include=*",
      "--numeric-owner",
      "-xpzf",
      store.path(layer.digest),
      "-C",
      out,
    ]);
    expect((await run("getcap", [join(out, "bin/tool")])).stdout).toContain("cap_net_raw=ep");
    const fattr = await run("getfattr", ["-d", "-m", "-", "-e", "hex", join(out, "etc/conf")]);
    expect(fattr.stdout).toContain(`user.comment=0x${Buffer.from("héllo").toString("hex")}`);
    expect(fattr.stdout).toContain("trusted.t=0x00ff01");
    const [a, b, c] = await Promise.all(
      ["a/first", "etc/conf", "etc/conf-link"].map((p) => stat(join(out, p))),
    );
    expect(a!.ino).toBe(b!.ino);
    expect(a!.ino).toBe(c!.ino);
    expect(a!.nlink).toBe(3);
    expect([a!.uid, a!.gid, a!.mode & 0o7777]).toEqual([1000, 50, 0o640]);
    const dn = await lstat(join(out, "dev/null"));
    expect(dn.isCharacterDevice()).toBe(true);
    expect(dn.rdev).toBe((1 << 8) | 3);
    expect((await lstat(join(out, "dev/loop0"))).isBlockDevice()).toBe(true);
    expect((await lstat(join(out, "run/fifo"))).isFIFO()).toBe(true);
    expect(existsSync(join(out, "run/sock"))).toBe(false);
    const ids = await stat(join(out, "big-ids"));
    expect([ids.uid, ids.gid]).toEqual([3_000_000, 2_500_000]);
    expect((await stat(join(out, "time"), { bigint: true })).mtimeNs).toBe(1672628645123456789n);
    expect(sha(await readFile(join(out, "big/blob")))).toBe(sha(BIG));
    expect(await readFile(join(out, `long/${LONG}`), "utf8")).toBe("long\n");
  });
});

describe("images made of molt layers, judged by umoci, skopeo and podman", () => {
  let base: Awaited<ReturnType<typeof importBusybox>>;
  let layer2: LayerResult;
  let image: Descriptor;

  beforeAll(async () => {
    base = await importBusybox(await busyboxLayout(), store);
    const newFile = join(work, "new-file");
    await writeFile(newFile, "new\n");
    const dir = { type: "directory" as const, mode: 0o755, uid: 0, gid: 0, size: 0, mtimeNs: 0n };
    const changes: Change[] = [
      { kind: "delete", path: "long/sym" },
      { kind: "opaque", path: "etc" },
      { kind: "add", entry: { ...dir, path: "etc" } },
      {
        kind: "add",
        entry: {
          path: "etc/new",
          type: "file",
          mode: 0o644,
          uid: 0,
          gid: 0,
          size: 4,
          mtimeNs: 0n,
          source: newFile,
        },
      },
      { kind: "delete", path: "long" },
      { kind: "delete", path: "/dev/loop0" },
    ];
    layer2 = await writeLayer(changes, store);
    image = await assembleImage(store, base, [layer, layer2], ["sh"]);
  });

  it("writes whiteouts and opaque markers, none under a deleted directory", async () => {
    const r = await run("tar", ["-tzf", store.path(layer2.digest)]);
    expect(r.stdout.trim().split("\n")).toEqual([
      ".wh.long",
      "dev/.wh.loop0",
      "etc/",
      "etc/.wh..wh..opq",
      "etc/new",
    ]);
  });

  it("validates: every digest, size and diffID agrees", async () => {
    const report = await validateImage(sourceOf(store), image);
    expect(report.images[0]!.layers.at(-2)).toEqual({
      digest: layer.digest,
      size: layer.size,
      diffId: layer.diffId,
      uncompressedSize: layer.uncompressedSize,
    });
  });

  it("validation names a wrong diffID", async () => {
    const bad = JSON.parse((await readFile(store.path(image.digest))).toString()) as {
      config: Descriptor;
    };
    const cfg = JSON.parse((await readFile(store.path(bad.config.digest))).toString()) as {
      rootfs: { diff_ids: string[] };
    };
    cfg.rootfs.diff_ids[cfg.rootfs.diff_ids.length - 1] = layer.diffId; // layer2's slot gets layer1's diffID
    const c = await store.put(serialize(cfg));
    const m = await store.put(
      serialize({ ...bad, config: { ...bad.config, digest: c.digest, size: c.size } }),
    );
    const err = await validateImage(sourceOf(store), { ...image, digest: m.digest, size: m.size }).catch(
      (e) => e,
    );
    expect(err).toBeInstanceOf(ImageValidationError);
    expect((err as ImageValidationError).problems).toEqual([
      `layer ${layer2.digest}: uncompressed digest ${layer2.diffId}, config diff_ids[${cfg.rootfs.diff_ids.length - 1}] is ${layer.diffId}`,
    ]);
  });

  it("umoci unpack applies files, whiteouts and the opaque directory", async () => {
    requireBinary("umoci", "Debian package umoci");
    const dir = join(work, "layout");
    await writeOciLayout(dir, [{ manifest: image, tags: ["golden"] }], sourceOf(store));
    const bundle = join(work, "bundle");
    await run("umoci", ["unpack", "--image", `${dir}:golden`, bundle]);
    const rootfs = join(bundle, "rootfs");
    expect(existsSync(join(rootfs, "bin/busybox"))).toBe(true);
    expect(existsSync(join(rootfs, "long"))).toBe(false);
    expect(existsSync(join(rootfs, "dev/loop0"))).toBe(false);
    expect((await lstat(join(rootfs, "dev/null"))).isCharacterDevice()).toBe(true);
    const { readdir } = await import("node:fs/promises");
    expect((await readdir(join(rootfs, "etc"))).sort()).toEqual(["new"]); // busybox's passwd and our conf are hidden
    expect(sha(await readFile(join(rootfs, "big/blob")))).toBe(sha(BIG));
    expect((await stat(join(rootfs, "a/first"))).nlink).toBe(1); // its links lived in the hidden etc/
    expect((await run("getcap", [join(rootfs, "bin/tool")])).stdout).toContain("cap_net_raw=ep");
  });

  it("skopeo copies the OCI archive to a registry with the same layer digests", async () => {
    requireBinary("skopeo", "Debian package skopeo");
    const archive = join(work, "image.oci.tar");
    await writeOciArchive(archive, [{ manifest: image, tags: ["golden"] }], sourceOf(store));
    const registry = inject("registry");
    const dest = `docker://${registry}/molt/layer-golden:1`;
    await run("skopeo", [
      "copy",
      "--quiet",
      "--dest-tls-verify=false",
      `oci-archive:${archive}:golden`,
      dest,
    ]);
    const info = JSON.parse((await run("skopeo", ["inspect", "--tls-verify=false", dest])).stdout) as {
      Layers: string[];
    };
    expect(info.Layers.slice(-2)).toEqual([layer.digest, layer2.digest]);
  });

  it("podman loads the docker archive and runs the image", async () => {
    const podman = await createPodman();
    // one layer: the fixture (big multi-block gzip, caps, hardlinks) on busybox
    const img = await assembleImage(store, base, [layer], ["sh"]);
    for (const layers of ["uncompressed", "compressed"] as const) {
      const archive = join(work, `image-${layers}.tar`);
      await writeDockerArchive(
        archive,
        [{ manifest: img, tags: [`localhost/molt-golden:${layers}`] }],
        sourceOf(store),
        {
          layers,
        },
      );
      const load = await podman.podman(["load", "-i", archive]);
      expect(load.stdout).toContain(`localhost/molt-golden:${layers}`);
      const out = await podman.runImage(`localhost/molt-golden:${layers}`, [
        "sh",
        "-c",
        "stat -c '%a %u %g %h' /a/first; cat /etc/conf; sha256sum /big/blob; ls /run",
      ]);
      expect(out.stdout.split("\n")).toEqual([
        "640 1000 50 3",
        "key=value",
        `${sha(BIG)}  /big/blob`,
        "fifo",
        "",
      ]);
    }
    await podman.cleanup();
  }, 120_000);
});
