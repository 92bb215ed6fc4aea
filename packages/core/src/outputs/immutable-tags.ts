import { type Digest, formatReference, type Reference } from "@molt/oci";
import { type Registry, RegistryError } from "@molt/registry-client";
import type { AssembledImage } from "../image/assemble.js";
import type { BuildOptions } from "../options.js";
import { putImageManifest } from "./push.js";

/**
 * What registries answer when a tag may not be overwritten: distribution's `TAG_INVALID`,
 * `MANIFEST_INVALID` or `DENIED` with a message naming immutability, ECR's
 * `ImageTagAlreadyExistsException`, Artifact Registry's / Harbor's "immutable" texts.
 */
const IMMUTABLE = /immutab|ImageTagAlreadyExists|tag .*already exists|cannot overwrite/i;

/** True when a push failure is a registry refusing to move an immutable tag. */
export function isImmutableTagError(e: unknown): boolean {
  if (!(e instanceof RegistryError)) return false;
  return IMMUTABLE.test(e.message) || (e.registryCode !== undefined && IMMUTABLE.test(e.registryCode));
}

/**
 * Puts the manifest; with `pushIgnoreImmutableTagErrors` a refusal to overwrite an immutable
 * tag becomes a warning event and `undefined` (kaniko's `--push-ignore-immutable-tag-errors`).
 */
export async function putManifestOrWarn(
  client: Registry,
  ref: Reference,
  image: AssembledImage,
  options: Pick<BuildOptions, "pushIgnoreImmutableTagErrors" | "signal" | "onProgress">,
): Promise<Digest | undefined> {
  try {
    return await putImageManifest(client, ref, image, options.signal);
  } catch (e) {
    if (!options.pushIgnoreImmutableTagErrors || !isImmutableTagError(e)) throw e;
    options.onProgress?.({
      type: "molt:build:warning",
      message: `${formatReference(ref)}: the tag is immutable and was not moved (${(e as Error).message})`,
    });
    return undefined;
  }
}
