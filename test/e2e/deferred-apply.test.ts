import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { build, type Extractor, extract, type LayerSource } from "molt";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { pushBusybox } from "../harness/base-images.js";
import { type RunningRegistry, startRegistry } from "../harness/registry.js";
import { maybeGunzip, readTar } from "../harness/tar-read.js";

/*
 * A layer a stage writes outside its materialised root (COPY, ADD, WORKDIR) is applied to that
 * root only when a later step asks for the root (issue 16): the RUN after a COPY sees the copied
 * file and its layer holds only what the RUN changed, while the COPY that ends the stage extracts
 * nothing. Counted through the user's extractor (BuildOptions.extractor), which sees every
 * extraction; both snapshot modes (overlay, walk) give the same image.
 */

let registry: RunningRegistry;
let dir: string;

beforeAll(async () => {
  registry = await startRegistry();
  await pushBusybox(registry.host);
  dir = await mkdtemp(join(tmpdir(), "molt-e2e-deferred-apply-"));
});
afterAll(async () => {
  await registry?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function layerEntries(layout: string, digest: string) {
  const bytes = await readFile(join(layout, "blobs", "sha256", digest.slice("sha256:".length)));
  return readTar(maybeGunzip(bytes));
}

describe("COPY's layer reaches the root only when a later step needs the root", () => {
  const text = () =>
    [
      `FROM ${registry.host}/test/busybox:latest`,
      "RUN echo one > /one",
      "COPY a.txt /a.txt",
      "RUN cat /a.txt /one > /both",
      "COPY b.txt /b.txt",
      'CMD ["sh"]',
      "",
    ].join("\n");

  const digests = new Map<string, string>();
  for (const mode of ["overlay", "walk"] as const)
    test(`snapshot mode ${mode}`, async () => {
      const ctx = await mkdtemp(join(dir, "ctx-"));
      await writeFile(join(ctx, "a.txt"), "from a\n");
      await writeFile(join(ctx, "b.txt"), "from b\n");
      const seen: (string | undefined)[] = [];
      const extractor: Extractor = async (layers, root, options) => {
        const all: LayerSource[] = [];
        for await (const l of layers) {
          seen.push(l.digest);
          all.push(l);
        }
        return extract(all, root, options);
      };
      const layout = join(dir, `out-${mode}`);
      const result = await build({
        context: ctx,
        dockerfileText: text(),
        noPush: true,
        reproducible: true,
        registries: { [registry.host]: { pull: { insecure: true } } },
        tmpDir: dir,
        ociLayoutPath: layout,
        snapshotMode: mode,
        extractor,
      });
      const layers = result.manifest.layers.map((l) => l.digest);
      const [, copyA, run2, copyB] = layers.slice(-4);
      // the base layers for the first RUN, then COPY a.txt's layer for the second RUN; never COPY b.txt's
      expect(seen).toEqual([...layers.slice(0, -4), copyA]);
      expect(seen).not.toContain(copyB);
      // the second RUN saw the copied file, and its layer holds only what it made
      const runEntries = await layerEntries(layout, run2!);
      expect(runEntries.map((e) => e.path)).toEqual(["both"]);
      expect(runEntries[0]!.data.toString()).toBe("from a\none\n");
      expect((await layerEntries(layout, copyB!)).map((e) => e.path)).toEqual(["b.txt"]);
      digests.set(mode, result.digest);
      if (digests.size === 2) expect(digests.get("walk")).toBe(digests.get("overlay"));
    });
});
