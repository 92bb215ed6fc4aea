import { createReadStream } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { LayerSource } from "../src/index.js";

/** The layers of `tag` in an OCI image layout, as {@link LayerSource}s reading the blob files. */
export async function layoutLayers(layout: string, tag: string): Promise<LayerSource[]> {
  const blob = (d: string) => join(layout, "blobs", ...d.split(":"));
  const index = JSON.parse(await readFile(join(layout, "index.json"), "utf8")) as {
    manifests: { digest: string; annotations?: Record<string, string> }[];
  };
  const m = index.manifests.find((x) => x.annotations?.["org.opencontainers.image.ref.name"] === tag);
  if (!m) throw new Error(`no tag ${tag} in ${layout}`);
  const manifest = JSON.parse(await readFile(blob(m.digest), "utf8")) as {
    layers: { digest: string; mediaType: string }[];
  };
  return manifest.layers.map((l) => ({
    digest: l.digest,
    mediaType: l.mediaType,
    open: () => createReadStream(blob(l.digest)),
  }));
}
