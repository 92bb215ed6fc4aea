import {
  formatReference,
  type Reference,
  writeDigestFile,
  writeImageNameTagWithDigestFile,
  writeImageNameWithDigestFile,
} from "@molt/oci";
import type { AssembledImage } from "../image/assemble.js";
import type { BuildOptions } from "../options.js";
import type { LayerRef } from "../stage/image-state.js";
import type { BuildEvents } from "../step-events.js";
import { writeTarball } from "./docker-archive.js";
import type { EarlyPush } from "./early-push.js";
import { putManifestOrWarn } from "./immutable-tags.js";
import type { LayerBytes } from "./layer-bytes.js";
import { writeToOciLayout } from "./oci-layout.js";
import { pushBlobs } from "./push.js";

/** Where the outputs go and what they read from. */
export interface OutputTargets {
  options: BuildOptions;
  /** Every destination given (names the layout's tag and the tarball's tags). */
  destRefs: readonly Reference[];
  /** The destinations pushed to (none with `noPush`). */
  targets: readonly Reference[];
  from: LayerBytes;
  events: BuildEvents;
  /** Layer uploads started while the build ran (see {@link EarlyPush}). */
  early?: EarlyPush | undefined;
}

/**
 * Writes the built image to every requested output, each as a step of its own: the OCI layout,
 * the pushes (every blob to every destination first, then the manifests, so a failing
 * destination leaves no tag updated anywhere), the tarball, and the digest files.
 */
export async function writeOutputs(
  image: AssembledImage,
  layers: readonly LayerRef[],
  out: OutputTargets,
): Promise<{ reference: string; digest: AssembledImage["manifestDescriptor"]["digest"] }[]> {
  const { options, destRefs, targets, events } = out;
  const digest = image.manifestDescriptor.digest;
  const client = out.from.client;
  const fromFor = (step: number): LayerBytes => ({ ...out.from, onProgress: events.forStep(step) });

  if (options.ociLayoutPath) {
    const dir = options.ociLayoutPath;
    await events.run({ kind: "output", name: `exporting to OCI layout ${dir}` }, async (step) => {
      await writeToOciLayout(dir, image, layers, destRefs[0]?.tag ?? "latest", fromFor(step));
      events.emit({ type: "molt:output:written", step, kind: "oci-layout", target: dir, digest });
    });
  }
  const pushed: { reference: string; digest: typeof digest }[] = [];
  if (targets.length > 0) {
    const names = targets.map((r) => formatReference(r));
    await events.run({ kind: "output", name: `pushing ${names.join(", ")}` }, async (step) => {
      for (const ref of targets) await pushBlobs(client, ref, image, layers, fromFor(step), out.early);
      for (const ref of targets) {
        const acknowledged = await putManifestOrWarn(client, ref, image, options);
        if (acknowledged === undefined) continue;
        pushed.push({ reference: formatReference(ref), digest: acknowledged });
        events.emit({
          type: "molt:output:pushed",
          step,
          reference: formatReference(ref),
          digest: acknowledged,
        });
      }
    });
  }
  if (options.tarPath) {
    const path = options.tarPath;
    await events.run({ kind: "output", name: `exporting to docker tarball ${path}` }, async (step) => {
      await writeTarball(path, image, layers, destRefs, fromFor(step), events.forStep(step));
      events.emit({ type: "molt:output:written", step, kind: "tarball", target: path, digest });
    });
  }
  const files = [
    ["image-name-with-digest-file", options.imageNameWithDigestFile],
    ["image-name-tag-with-digest-file", options.imageNameTagWithDigestFile],
    ["digest-file", options.digestFile],
  ] as const;
  if (files.some(([, f]) => f !== undefined)) {
    await events.run({ kind: "output", name: "writing digest files" }, async (step) => {
      for (const [kind, target] of files) {
        if (target === undefined) continue;
        if (kind === "image-name-with-digest-file")
          await writeImageNameWithDigestFile(target, [...targets], digest);
        else if (kind === "image-name-tag-with-digest-file")
          await writeImageNameTagWithDigestFile(target, [...targets], digest);
        else await writeDigestFile(target, digest);
        events.emit({ type: "molt:output:written", step, kind, target, digest });
      }
    });
  }
  return pushed;
}
