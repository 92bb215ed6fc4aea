import { lstat, readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { BlobStore, type LayerResult } from "@molt/layer-writer";
import {
  type BlobSource,
  type Change,
  type Descriptor,
  type FileEntry,
  type ImageConfig,
  type Manifest,
  MediaType,
  OciLayout,
  serialize,
} from "@molt/oci";
import { run } from "../../../test/harness/exec.js";

export { run };

/** Reads every xattr of a path with getfattr (Node has no xattr API), hex-decoded. */
export async function readXattrs(path: string): Promise<Record<string, Buffer> | undefined> {
  const r = await run("getfattr", ["-h", "-d", "-m", "-", "-e", "hex", "--absolute-names", path], {
    allowFail: true,
  });
  const out: Record<string, Buffer> = {};
  for (const line of r.stdout.split("\n")) {
    const m = /^([^#=][^=]*)=0x([0-9a-f]*)$/.exec(line.trim());
    if (m) out[m[1]!] = Buffer.from(m[2]!, "hex");
  }
  return Object.keys(out).length ? out : undefined;
}

/**
 * Lists a directory tree as `add` changes, the way a snapshotter would: walked in REVERSE name
 * order (so the writer must sort), hardlinks reported as `hardlink` to the first path walked,
 * sockets reported as they are (the writer must skip them).
 */
export async function treeChanges(root: string): Promise<Change[]> {
  const out: Change[] = [];
  const inodes = new Map<string, string>();
  const walk = async (abs: string, rel: string) => {
    const names = (await readdir(abs)).sort().reverse();
    for (const name of names) {
      const a = join(abs, name);
      const r = rel ? `${rel}/${name}` : name;
      const st = await lstat(a, { bigint: true });
      const e: FileEntry = {
        path: r,
        type: "file",
        mode: Number(st.mode & 0o7777n),
        uid: Number(st.uid),
        gid: Number(st.gid),
        size: 0,
        mtimeNs: st.mtimeNs,
      };
      const x = await readXattrs(a);
      if (x) e.xattrs = x;
      if (st.isDirectory()) {
        e.type = "directory";
        out.push({ kind: "add", entry: e });
        await walk(a, r);
      } else if (st.isFile()) {
        const key = `${st.dev}:${st.ino}`;
        const first = st.nlink > 1n ? inodes.get(key) : undefined;
        if (first) {
          e.type = "hardlink";
          e.linkTarget = first;
        } else {
          if (st.nlink > 1n) inodes.set(key, r);
          e.size = Number(st.size);
          e.source = a;
        }
        out.push({ kind: "add", entry: e });
      } else if (st.isSymbolicLink()) {
        const { readlink } = await import("node:fs/promises");
        e.type = "symlink";
        e.linkTarget = await readlink(a);
        out.push({ kind: "add", entry: e });
      } else if (st.isCharacterDevice() || st.isBlockDevice()) {
        e.type = st.isCharacterDevice() ? "char" : "block";
        const rdev = st.rdev;
        e.devMajor = Number(((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn));
        e.devMinor = Number((rdev & 0xffn) | ((rdev >> 12n) & ~0xffn));
        out.push({ kind: "add", entry: e });
      } else if (st.isFIFO()) {
        e.type = "fifo";
        out.push({ kind: "add", entry: e });
      } else if (st.isSocket()) {
        out.push({ kind: "add", entry: { ...e, type: "socket" as FileEntry["type"] } });
      }
    }
  };
  await walk(root, "");
  return out;
}

/** A blob source over a store. */
export const sourceOf = (store: BlobStore): BlobSource => ({ open: (d) => store.openRead(d) });

/** Copies every blob of the busybox test layout (tag `amd64`) into `store`; returns its manifest and config. */
export async function importBusybox(
  layoutDir: string,
  store: BlobStore,
): Promise<{ manifest: Manifest; config: ImageConfig }> {
  const layout = await OciLayout.open(layoutDir);
  const index = await layout.readIndex();
  const desc = index.manifests.find((m) => m.annotations?.["org.opencontainers.image.ref.name"] === "amd64");
  if (!desc) throw new Error("busybox layout has no amd64 tag");
  const manifest = JSON.parse(await readFile(layout.blobPath(desc.digest), "utf8")) as Manifest;
  const config = JSON.parse(await readFile(layout.blobPath(manifest.config.digest), "utf8")) as ImageConfig;
  for (const d of [manifest.config, ...manifest.layers]) {
    if (!(await store.has(d.digest))) await store.put(await readFile(layout.blobPath(d.digest)));
  }
  return { manifest, config };
}

/**
 * Puts a config and an OCI manifest for `base` + `layers` into the store (the test's stand-in
 * for core's image assembly) and returns the manifest descriptor.
 */
export async function assembleImage(
  store: BlobStore,
  base: { manifest: Manifest; config: ImageConfig },
  layers: LayerResult[],
  cmd?: string[],
): Promise<Descriptor> {
  const config: ImageConfig = {
    ...base.config,
    created: "1970-01-01T00:00:00Z",
    rootfs: { type: "layers", diff_ids: [...base.config.rootfs.diff_ids, ...layers.map((l) => l.diffId)] },
    history: [
      ...(base.config.history ?? []),
      ...layers.map((_, i) => ({ created: "1970-01-01T00:00:00Z", created_by: `test layer ${i}` })),
    ],
  };
  if (cmd) config.config = { ...(config.config ?? {}), Cmd: cmd };
  const cfg = await store.put(serialize(config));
  const manifest: Manifest = {
    schemaVersion: 2,
    mediaType: MediaType.OciManifest,
    config: { mediaType: MediaType.OciConfig, digest: cfg.digest, size: cfg.size },
    layers: [
      ...base.manifest.layers,
      ...layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size })),
    ],
  };
  const m = await store.put(serialize(manifest));
  return { mediaType: MediaType.OciManifest, digest: m.digest, size: m.size };
}

export { BlobStore };
