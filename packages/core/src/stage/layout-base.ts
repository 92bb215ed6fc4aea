import { readFile } from "node:fs/promises";
import { join } from "node:path";
import {
  type Descriptor,
  type Digest,
  formatReference,
  type ImageConfig,
  type ImageIndex,
  type Manifest,
  MediaType,
  OciLayout,
  type Platform,
  parseReference,
  REF_NAME_ANNOTATION,
} from "@molt/oci";
import { selectPlatform } from "@molt/registry-client";
import createDebug from "debug";
import { digestOf } from "../cache/key.js";
import type { ImageState } from "./image-state.js";

const debug = createDebug("molt:cache");

/**
 * kaniko's `--cache-dir` meaning: a base image pre-warmed into the cache directory (an OCI
 * layout, e.g. `skopeo copy docker://REF oci:DIR:REF`) is used from there, without asking its
 * registry. The layout's `index.json` entry must be named (`org.opencontainers.image.ref.name`)
 * with the reference as written in FROM or its normalised form. `undefined` when it is not there.
 */
export async function layoutBaseState(
  dir: string,
  image: string,
  platform: Platform,
): Promise<ImageState | undefined> {
  let index: ImageIndex;
  try {
    index = JSON.parse(await readFile(join(dir, "index.json"), "utf8")) as ImageIndex;
  } catch {
    return undefined;
  }
  const names = new Set([image, formatReference(parseReference(image))]);
  const entry = index.manifests.find((m) => names.has(m.annotations?.[REF_NAME_ANNOTATION] ?? ""));
  if (!entry) return undefined;
  const layout = await OciLayout.open(dir);
  const read = async (d: Descriptor) =>
    JSON.parse(await readFile(layout.blobPath(d.digest), "utf8")) as unknown;
  let desc: Descriptor = entry;
  let doc = (await read(desc)) as Manifest | ImageIndex;
  if ("manifests" in doc) {
    desc = selectPlatform(doc as ImageIndex, platform, parseReference(image));
    doc = (await read(desc)) as Manifest;
  }
  const manifest = doc as Manifest;
  const config = (await read(manifest.config)) as ImageConfig;
  const diffIds = config.rootfs?.diff_ids ?? [];
  if (diffIds.length !== manifest.layers.length) return undefined;
  debug("base %s from the cache directory %s (%s)", image, dir, desc.digest);
  const origin = {
    kind: "source" as const,
    description: `directory ${dir}`,
    source: { open: (d: Digest) => layout.open(d) },
  };
  const cfg = structuredClone(config);
  cfg.config ??= {};
  cfg.history ??= [];
  return {
    config: cfg,
    layers: manifest.layers.map((descriptor, i) => ({ descriptor, diffId: diffIds[i]!, origin })),
    format: desc.mediaType === MediaType.DockerManifest ? "docker" : "oci",
    chainKey: desc.digest,
    chainSlot: digestOf(`base\0${image}`),
    chainBase: `base ${formatReference(parseReference(image))}`,
  };
}
