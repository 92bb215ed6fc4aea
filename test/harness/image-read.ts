import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { maybeGunzip, readTar } from "./tar-read.js";

/** An image read from disk for judging: its config JSON and its layers as uncompressed tars, base first. */
export interface ImageOnDisk {
  /** The image config (OCI or Docker schema2 — the runtime part lives under `config` in both). */
  config: ImageConfigJson;
  layers: Buffer[];
}

/** The parts of an image config the conformance judge reads. */
export interface ImageConfigJson {
  architecture?: string;
  os?: string;
  config?: Record<string, unknown>;
  rootfs?: { diff_ids?: string[] };
  history?: { created_by?: string; empty_layer?: boolean; comment?: string }[];
}

interface Descriptor {
  mediaType?: string;
  digest: string;
  annotations?: Record<string, string>;
}

/**
 * Reads an OCI image layout directory (`index.json`, `blobs/`): the manifest tagged `tag`
 * (annotation `org.opencontainers.image.ref.name`), else the only one.
 */
export async function readOciLayout(dir: string, tag = "latest"): Promise<ImageOnDisk> {
  const blob = (d: string) => readFile(join(dir, "blobs", ...d.split(":")));
  const index = JSON.parse(await readFile(join(dir, "index.json"), "utf8")) as { manifests: Descriptor[] };
  const tagged = index.manifests.filter((m) => m.annotations?.["org.opencontainers.image.ref.name"] === tag);
  const desc = tagged.at(-1) ?? (index.manifests.length === 1 ? index.manifests[0] : undefined);
  if (!desc) throw new Error(`OCI layout ${dir} has no manifest tagged ${tag}`);
  let manifest = JSON.parse((await blob(desc.digest)).toString()) as {
    manifests?: Descriptor[];
    config: Descriptor;
    layers: Descriptor[];
  };
  if (manifest.manifests) manifest = JSON.parse((await blob(manifest.manifests[0]!.digest)).toString());
  const config = JSON.parse((await blob(manifest.config.digest)).toString()) as ImageConfigJson;
  const layers: Buffer[] = [];
  for (const l of manifest.layers) layers.push(maybeGunzip(await blob(l.digest)));
  return { config, layers };
}

/** Reads a docker-archive tarball (`docker save`, `buildah push … docker-archive:`): its first image. */
export async function readDockerArchive(file: string): Promise<ImageOnDisk> {
  const entries = new Map(readTar(await readFile(file)).map((e) => [e.path, e.data]));
  const get = (p: string): Buffer => {
    const d = entries.get(p.replace(/^\.\//, ""));
    if (!d) throw new Error(`docker archive ${file} lacks ${p}`);
    return d;
  };
  const manifest = JSON.parse(get("manifest.json").toString()) as { Config: string; Layers: string[] }[];
  const m = manifest[0];
  if (!m) throw new Error(`docker archive ${file} holds no image`);
  return {
    config: JSON.parse(get(m.Config).toString()) as ImageConfigJson,
    layers: m.Layers.map((l) => maybeGunzip(get(l))),
  };
}
