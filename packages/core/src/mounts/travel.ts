import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { lstat, mkdir, readdir, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { type Descriptor, type Digest, parseReference, type Reference } from "@molt/oci";
import type { Registry } from "@molt/registry-client";
import createDebug from "debug";
import type { CacheMountStore } from "./cache-store.js";
import { CacheMountTravelError } from "./errors.js";
import { lockFile } from "./lock.js";

const debug = createDebug("molt:mounts");

/** Media types of a travelling cache mount: an OCI manifest, a small config, one `tar+zstd` layer. */
export const CACHE_MOUNT_CONFIG_TYPE = "application/vnd.molt.cache-mount.config.v1+json";
const LAYER_TYPE = "application/vnd.oci.image.layer.v1.tar+zstd";
const MANIFEST_TYPE = "application/vnd.oci.image.manifest.v1+json";

/** The tag a cache id travels under: `mount-` and 40 hex digits of its SHA-256 (ids may hold any character). */
export function cacheMountTag(id: string): string {
  return `mount-${createHash("sha256").update(id).digest("hex").slice(0, 40)}`;
}

/** A cheap fingerprint of a directory tree: every entry's path, type, size, mode and mtime. */
export async function treeFingerprint(dir: string): Promise<string> {
  const h = createHash("sha256");
  const walk = async (rel: string): Promise<void> => {
    const names = (await readdir(join(dir, rel)).catch(() => [] as string[])).sort();
    for (const n of names) {
      const p = rel ? `${rel}/${n}` : n;
      const st = await lstat(join(dir, p));
      h.update(`${p}\0${st.mode}\0${st.size}\0${st.mtimeMs}\0${st.uid}:${st.gid}\n`);
      if (st.isDirectory()) await walk(p);
    }
  };
  await walk("");
  return h.digest("hex");
}

function tool(file: string, args: string[], stdin: "pipe" | "ignore") {
  const child = spawn(file, args, {
    stdio: [stdin, "pipe", "pipe"],
    env: { PATH: "/usr/bin:/bin", LC_ALL: "C" },
  });
  let err = "";
  child.stderr!.on("data", (d: Buffer) => {
    err += d.toString();
  });
  const done = new Promise<void>((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code) =>
      code === 0 ? resolve() : reject(new CacheMountTravelError(`${file} failed: ${err.trim() || code}`)),
    );
  });
  return { child, done };
}

/** What {@link CacheMountTravel.exportChanged} did for one id. */
export interface CacheMountExport {
  id: string;
  tag: string;
  /** False when the cache did not change during the build (nothing pushed). */
  pushed: boolean;
  /** Compressed bytes pushed. */
  bytes?: number;
}

/**
 * Cache mounts that follow a CI job (`--cache-mount-repo REPO`): the first time a build mounts
 * a cache id whose directory this machine does not have, it is pulled from `REPO:mount-<hash>`
 * (one `tar+zstd` layer) and unpacked; after a successful build, every id it used whose content
 * changed (a fingerprint of paths, sizes, modes and times) is packed and pushed under the same tag.
 * Only instance 0 (what `shared` and `locked` use) travels.
 */
export class CacheMountTravel {
  readonly #repo: Reference;
  readonly #seen = new Map<string, Promise<string | undefined>>();

  constructor(
    private readonly client: Registry,
    repo: string,
    private readonly store: CacheMountStore,
  ) {
    this.#repo = parseReference(repo, { defaultTag: false });
  }

  #ref(id: string): Reference {
    return { ...this.#repo, tag: cacheMountTag(id) };
  }

  /** Before the first mount of `id` in this build: imports it when missing here; records its fingerprint. */
  beforeUse(id: string, signal?: AbortSignal): Promise<unknown> {
    let p = this.#seen.get(id);
    if (!p) {
      p = this.#import(id, signal);
      this.#seen.set(id, p);
    }
    return p;
  }

  async #import(id: string, signal?: AbortSignal): Promise<string | undefined> {
    const dir = join(this.store.dirOf(id), "0");
    if (
      await lstat(dir).then(
        () => true,
        () => false,
      )
    )
      return treeFingerprint(dir);
    const ref = this.#ref(id);
    const head = await this.client.headManifest(ref, signal ? { signal } : {}).catch(() => undefined);
    if (!head) {
      debug("cache mount %s: nothing at %s", id, ref.tag);
      return undefined;
    }
    const m = await this.client.getManifest(ref, signal ? { signal } : {});
    const layer = (JSON.parse(m.bytes.toString("utf8")) as { layers?: Descriptor[] }).layers?.[0];
    if (!layer) return undefined;
    const t0 = performance.now();
    await mkdir(this.store.dirOf(id), { recursive: true, mode: 0o700 });
    const tmp = `${dir}.import-${process.pid}`;
    await rm(tmp, { recursive: true, force: true });
    await mkdir(tmp);
    try {
      const body = await this.client.fetchBlob(ref, layer, signal ? { signal } : {});
      const tar = tool("tar", ["--zstd", "-x", "--numeric-owner", "-C", tmp, "-f", "-"], "pipe");
      await Promise.all([pipeline(body, tar.child.stdin!), tar.done]);
      await rename(tmp, dir).catch(async (e: NodeJS.ErrnoException) => {
        if (e.code !== "ENOTEMPTY" && e.code !== "EEXIST") throw e;
      });
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
    debug("cache mount %s: imported %d bytes in %d ms", id, layer.size, Math.round(performance.now() - t0));
    return treeFingerprint(dir);
  }

  /** After a successful build: pushes every used id whose content changed. */
  async exportChanged(signal?: AbortSignal): Promise<CacheMountExport[]> {
    const out: CacheMountExport[] = [];
    for (const [id, before] of this.#seen) {
      const dir = join(this.store.dirOf(id), "0");
      if (
        !(await lstat(dir).then(
          () => true,
          () => false,
        ))
      )
        continue;
      const lock = await lockFile(join(this.store.dirOf(id), "0.lock"), "shared", signal ? { signal } : {});
      try {
        const tag = cacheMountTag(id);
        if ((await treeFingerprint(dir)) === (await before)) {
          out.push({ id, tag, pushed: false });
          continue;
        }
        out.push({ id, tag, pushed: true, bytes: await this.#push(id, dir, signal) });
      } finally {
        await lock?.release();
      }
    }
    return out;
  }

  async #push(id: string, dir: string, signal?: AbortSignal): Promise<number> {
    const ref = this.#ref(id);
    const t0 = performance.now();
    let tar: ReturnType<typeof tool> | undefined;
    const layer = await this.client.pushBlobStream(
      ref,
      (): Readable => {
        tar = tool("tar", ["--zstd", "-c", "--numeric-owner", "-C", dir, "."], "ignore");
        tar.done.catch(() => {});
        return tar.child.stdout!;
      },
      LAYER_TYPE,
      signal ? { signal } : {},
    );
    await tar?.done;
    const config = Buffer.from(JSON.stringify({ id }));
    const configDesc: Descriptor = {
      mediaType: CACHE_MOUNT_CONFIG_TYPE,
      digest: `sha256:${createHash("sha256").update(config).digest("hex")}` as Digest,
      size: config.length,
    };
    await this.client.pushBlob(ref, configDesc, () => config, signal ? { signal } : {});
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MANIFEST_TYPE,
        config: configDesc,
        layers: [layer],
        annotations: { "dev.molt.cache-mount.id": id },
      }),
    );
    await this.client.putManifest(ref, manifest, MANIFEST_TYPE, signal ? { signal } : {});
    debug("cache mount %s: exported %d bytes in %d ms", id, layer.size, Math.round(performance.now() - t0));
    return layer.size;
  }
}

const travels = new WeakMap<object, CacheMountTravel>();

/** Registers the travelling-cache exporter of one build (keyed by its options object). */
export function setCacheMountTravel(options: object, travel: CacheMountTravel): void {
  travels.set(options, travel);
}

/** The travelling-cache exporter of the build whose options these are, when it has one. */
export function cacheMountTravel(options: object): CacheMountTravel | undefined {
  return travels.get(options);
}
