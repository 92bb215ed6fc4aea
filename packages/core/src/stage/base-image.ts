import {
  type Descriptor,
  emptyConfig,
  formatReference,
  type Manifest,
  MediaType,
  MoltError,
  type Platform,
  parseReference,
  type Reference,
} from "@molt/oci";
import type {
  Registry,
  RegistryProgressEvent,
  RegistryProgressHandler,
  ResolvedImage,
} from "@molt/registry-client";
import { digestOf, SCRATCH_KEY } from "../cache/key.js";
import type { StepId } from "../events.js";
import type { BuildEvents } from "../step-events.js";
import type { ImageState } from "./image-state.js";

/** The base image's manifest and config disagree on the number of layers. */
export class InconsistentBaseImageError extends MoltError<"MOLT_BASE_IMAGE_INCONSISTENT"> {
  constructor(reference: string, layers: number, diffIds: number) {
    super(
      "MOLT_BASE_IMAGE_INCONSISTENT",
      `base image ${reference} has ${layers} layers but ${diffIds} diff_ids in its config`,
    );
  }
}

/** The state a stage starts from for `FROM scratch`: no layers, a default PATH and WorkingDir `/`. */
export function scratchState(platform: Platform): ImageState {
  const config = emptyConfig(platform.os, platform.architecture, platform.variant);
  // As BuildKit's empty image (dockerfile2llb emptyImage): a default PATH, so RUN and the
  // container find programs, and WorkingDir "/".
  config.config = {
    Env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
    WorkingDir: "/",
  };
  return {
    config,
    layers: [],
    format: "oci",
    chainKey: SCRATCH_KEY,
    chainSlot: digestOf("scratch"),
    chainBase: "scratch",
  };
}

/**
 * One resolution per image and platform in a build: stages on the same base share it, and a
 * build can start resolving every base at once, before the stages that need them run.
 */
export class BaseResolver {
  readonly #resolved = new Map<
    string,
    { image: Promise<ResolvedImage>; to?: RegistryProgressHandler; early: RegistryProgressEvent[] }
  >();

  constructor(
    /** The registry client the bases are resolved with. */
    readonly client: Registry,
    private readonly signal?: AbortSignal,
  ) {}

  /**
   * The image's manifest and config for `platform` (asked once; later calls share the answer).
   * The resolution's events (retries) go to the first `onProgress` given, those that came before
   * it first (a resolution started ahead has no step yet). `onManifest` (of the first call) is
   * told of the platform's manifest and the reference its layers are fetched by, before the
   * config is fetched.
   */
  resolve(
    image: string,
    platform: Platform,
    onProgress?: RegistryProgressHandler,
    onManifest?: (manifest: Manifest, origin: Reference) => void,
  ): Promise<ResolvedImage> {
    const key = `${image}\0${platform.os}/${platform.architecture}/${platform.variant ?? ""}`;
    let r = this.#resolved.get(key);
    if (!r) {
      const entry: { to?: RegistryProgressHandler; early: RegistryProgressEvent[] } = { early: [] };
      const relay: RegistryProgressHandler = (e) => (entry.to ? entry.to(e) : entry.early.push(e));
      const reference = parseReference(image);
      const p = this.client.resolveImage(reference, {
        platform,
        onProgress: relay,
        ...(this.signal ? { signal: this.signal } : {}),
        // The platform's manifest, before the config: where the layers are (see `origin` in pullBaseState).
        ...(onManifest ? { onManifest: (m, digest) => onManifest(m, { ...reference, digest }) } : {}),
      });
      // Started ahead: a failure belongs to the stage that awaits it.
      p.catch(() => {});
      r = Object.assign(entry, { image: p });
      this.#resolved.set(key, r);
    }
    if (onProgress && !r.to) {
      r.to = onProgress;
      for (const e of r.early.splice(0)) onProgress(e);
    }
    return r.image;
  }
}

/**
 * Resolves `FROM <image>` through the registry: the platform's manifest and config. No layer is
 * downloaded here; layers are streamed (or mounted) only when an output needs them.
 */
export async function pullBaseState(
  client: Registry,
  image: string,
  platform: Platform,
  options: { signal?: AbortSignal; events?: BuildEvents; step?: StepId; resolver?: BaseResolver },
): Promise<{ state: ImageState; reference: Reference }> {
  const reference = parseReference(image);
  // Retries while resolving belong to the step that resolves (FROM, or a COPY --from image).
  const onProgress =
    options.events && options.step !== undefined ? options.events.forStep(options.step) : undefined;
  const resolved = options.resolver
    ? await options.resolver.resolve(image, platform, onProgress)
    : await client.resolveImage(reference, {
        platform,
        ...(options.signal ? { signal: options.signal } : {}),
        ...(onProgress ? { onProgress } : {}),
      });
  const { manifest, config } = resolved;
  const diffIds = config.rootfs?.diff_ids ?? [];
  if (diffIds.length !== manifest.layers.length) {
    throw new InconsistentBaseImageError(formatReference(reference), manifest.layers.length, diffIds.length);
  }
  if (options.events && options.step !== undefined) {
    options.events.emit({
      type: "molt:base:resolved",
      step: options.step,
      reference: formatReference(reference),
      digest: resolved.manifestDigest,
    });
  }
  const origin = { kind: "registry" as const, reference: { ...reference, digest: resolved.manifestDigest } };
  const layers = manifest.layers.map((descriptor: Descriptor, i: number) => ({
    descriptor,
    diffId: diffIds[i]!,
    origin,
  }));
  const format = resolved.mediaType === MediaType.DockerManifest ? "docker" : "oci";
  const cfg = structuredClone(config);
  cfg.config ??= {};
  cfg.history ??= [];
  // The cache chain starts at the manifest digest (resolved once per build); the slot at the
  // name as written, so a changed digest under the same name can be explained.
  return {
    state: {
      config: cfg,
      layers,
      format,
      chainKey: resolved.manifestDigest,
      chainSlot: digestOf(`base\0${image}`),
      chainBase: `base ${formatReference(reference)}`,
    },
    reference,
  };
}
