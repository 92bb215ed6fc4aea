import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { isAbsolute, join, resolve } from "node:path";
import { type ContextSource, openContext } from "@molt/context-source";
import { BlobStore, writeLayer } from "@molt/layer-writer";
import {
  DEFAULT_PLATFORM,
  type Digest,
  formatReference,
  type ImageConfig,
  type Manifest,
  type Platform,
  parsePlatform,
  parseReference,
} from "@molt/oci";
import { expandWord, parseDockerfile, planBuild } from "@molt/parser";
import { RegistryClient } from "@molt/registry-client";
import createDebug from "debug";
import {
  BuildAbortedError,
  DockerfileNotFoundError,
  InvalidBuildOptionsError,
  throwIfAborted,
} from "./errors.js";
import { assembleImage, layerMediaType } from "./image/assemble.js";
import type { BuildOptions } from "./options.js";
import { writeDigestFile } from "./outputs/digest-file.js";
import { writeToOciLayout } from "./outputs/oci-layout.js";
import { pushImage } from "./outputs/push.js";
import { pullBaseState, scratchState } from "./stage/base-image.js";
import { cloneState, type ImageState } from "./stage/image-state.js";
import { runStage } from "./stage/run-stage.js";
import type { StageRuntime } from "./stage/runtime.js";

const debug = createDebug("molt:build");

/** What {@link build} produced. */
export interface BuildResult {
  /** Digest of the image manifest. */
  digest: Digest;
  manifest: Manifest;
  config: ImageConfig;
  /** Destinations pushed to, with the digest each registry acknowledged. */
  pushed: { reference: string; digest: Digest }[];
}

/**
 * Builds an image from a Dockerfile and writes it to the requested outputs: registry
 * destinations, an OCI layout directory, a digest file. Nothing is pushed until the whole image
 * is built, and each destination's manifest is pushed last, so a failed build or push never
 * leaves a half-pushed image under a tag. Temporary files are removed on success, failure and
 * abort.
 *
 * @example
 * ```ts
 * import { build } from "molt";
 * const { digest } = await build({ context: "./app", destinations: ["registry.example/app:1.2"] });
 * ```
 */
export async function build(options: BuildOptions): Promise<BuildResult> {
  try {
    return await buildImage(options);
  } catch (e) {
    if (options.signal?.aborted && !(e instanceof BuildAbortedError))
      throw new BuildAbortedError({ cause: e });
    throw e;
  }
}

async function buildImage(options: BuildOptions): Promise<BuildResult> {
  const destinations = options.destinations ?? [];
  if (!options.noPush && destinations.length === 0 && !options.ociLayoutPath) {
    throw new InvalidBuildOptionsError("no output: give a destination, an OCI layout path, or --no-push");
  }
  const targets = options.noPush ? [] : destinations.map((d) => parseReference(d));
  const platform: Platform = options.platform ? parsePlatform(options.platform) : DEFAULT_PLATFORM;
  const signal = options.signal;
  throwIfAborted(signal);

  const { text, file } = await readDockerfileText(options);
  const dockerfile = parseDockerfile(text, { file });
  for (const w of dockerfile.warnings) {
    options.onProgress?.({ type: "warning", message: w.message, file, line: w.location?.line });
  }
  const buildArgs = options.buildArgs ?? {};
  const plan = planBuild(dockerfile, { ...(options.target ? { target: options.target } : {}), buildArgs });

  const context: ContextSource =
    typeof options.context === "string"
      ? await openContext(options.context, signal ? { signal } : {})
      : options.context;
  const work = await mkdtemp(join(options.tmpDir ?? tmpdir(), "molt-build-"));
  const ownClient = !options.registryClient;
  let client: RegistryClient | undefined = options.registryClient;
  try {
    const store = await BlobStore.open(join(work, "blobs"));
    const insecure = new Set(options.insecureRegistries ?? []);
    if (options.insecure) for (const t of targets) insecure.add(t.registry);
    if (options.insecurePull) {
      for (const s of plan.stages)
        if (s.baseImage && s.baseImage !== "scratch") insecure.add(parseReference(s.baseImage).registry);
    }
    client ??= new RegistryClient({ insecure: [...insecure] });
    const sourceDateEpoch = sourceDateEpochFromEnv();
    const created = new Date(
      sourceDateEpoch !== undefined ? sourceDateEpoch * 1000 : Date.now(),
    ).toISOString();

    const metaArgs = new Map<string, string>();
    for (const arg of dockerfile.metaArgs) {
      for (const a of arg.args) {
        const v = Object.hasOwn(buildArgs, a.key)
          ? buildArgs[a.key]
          : a.default !== undefined
            ? expandWord(a.default, (n) => metaArgs.get(n))
            : undefined;
        if (v !== undefined) metaArgs.set(a.key, v);
      }
    }

    const finished = new Map<number, ImageState>();
    for (const planned of plan.stages) {
      const { stage } = planned;
      let state: ImageState;
      let base: string;
      if (planned.baseStage !== undefined) {
        state = cloneState(finished.get(planned.baseStage)!);
        base = `stage ${planned.baseStage}`;
      } else if (!planned.baseImage || planned.baseImage === "scratch") {
        state = scratchState(platform);
        base = "scratch";
      } else {
        base = planned.baseImage;
        state = (
          await pullBaseState(client, planned.baseImage, platform, {
            ...(signal ? { signal } : {}),
            ...(options.onProgress ? { onProgress: options.onProgress } : {}),
          })
        ).state;
      }
      options.onProgress?.({
        type: "stage",
        stage: stage.index,
        ...(stage.name ? { name: stage.name } : {}),
        base,
      });
      debug("stage %d from %s", stage.index, base);
      const history = (state.config.history ??= []);
      const rt: StageRuntime = {
        stage: stage.index,
        step: 0,
        state,
        args: new Map(),
        context,
        store,
        options,
        created,
        cmdSetInStage: false,
        addEmptyHistory(createdBy) {
          history.push({ created, created_by: createdBy, empty_layer: true });
        },
        async addLayer(changes, createdBy) {
          const result = await writeLayer(changes, store, {
            compression: "gzip",
            ...(sourceDateEpoch !== undefined ? { sourceDateEpoch } : {}),
            ...(signal ? { signal } : {}),
          });
          const layer = {
            descriptor: {
              mediaType: layerMediaType(result.mediaType, state.format),
              digest: result.digest,
              size: result.size,
            },
            diffId: result.diffId,
            origin: { kind: "store" as const },
          };
          state.layers.push(layer);
          history.push({ created, created_by: createdBy });
          options.onProgress?.({
            type: "layer",
            stage: stage.index,
            step: rt.step,
            digest: result.digest,
            size: result.size,
            entries: result.entries,
          });
          return layer;
        },
      };
      await runStage(stage.instructions, rt, { buildArgs, metaArgs });
      finished.set(stage.index, state);
    }

    const final = finished.get(plan.target.stage.index)!;
    if (options.labels && Object.keys(options.labels).length > 0) {
      const cfg = (final.config.config ??= {});
      cfg.Labels = { ...(cfg.Labels ?? {}), ...options.labels };
    }
    const image = assembleImage(final, created);
    const from = { client, store, ...(signal ? { signal } : {}) };

    if (options.ociLayoutPath) {
      const tag =
        targets[0]?.tag ?? (destinations[0] ? parseReference(destinations[0]).tag : undefined) ?? "latest";
      await writeToOciLayout(options.ociLayoutPath, image, final.layers, tag, from);
      options.onProgress?.({
        type: "output",
        kind: "oci-layout",
        target: options.ociLayoutPath,
        digest: image.manifestDescriptor.digest,
      });
    }
    const pushed: BuildResult["pushed"] = [];
    for (const dest of options.noPush ? [] : destinations) {
      const r = await pushImage(client, dest, image, final.layers, from);
      pushed.push({ reference: formatReference(r.reference), digest: r.digest });
      options.onProgress?.({
        type: "output",
        kind: "push",
        target: formatReference(r.reference),
        digest: r.digest,
      });
    }
    if (options.digestFile) {
      await writeDigestFile(options.digestFile, image.manifestDescriptor.digest);
      options.onProgress?.({
        type: "output",
        kind: "digest-file",
        target: options.digestFile,
        digest: image.manifestDescriptor.digest,
      });
    }
    return {
      digest: image.manifestDescriptor.digest,
      manifest: image.manifest,
      config: image.config,
      pushed,
    };
  } finally {
    await rm(work, { recursive: true, force: true });
    if (typeof options.context === "string") await context.close();
    if (ownClient) await client?.close();
  }
}

/** `SOURCE_DATE_EPOCH` from the environment, when set to an integer. */
function sourceDateEpochFromEnv(): number | undefined {
  const v = process.env.SOURCE_DATE_EPOCH;
  return v && /^\d+$/.test(v) ? Number(v) : undefined;
}

/**
 * Reads the Dockerfile: `dockerfileText` when given; else the path as given when it exists
 * (relative to the cwd), else relative to a directory context, as kaniko resolves it.
 */
async function readDockerfileText(options: BuildOptions): Promise<{ text: string; file: string }> {
  const name = options.dockerfile ?? "Dockerfile";
  if (options.dockerfileText !== undefined) return { text: options.dockerfileText, file: name };
  const candidates = [resolve(name)];
  if (
    !isAbsolute(name) &&
    typeof options.context === "string" &&
    !/^[a-z][a-z0-9+.-]*:\/\//i.test(options.context)
  ) {
    candidates.push(resolve(options.context, name));
  }
  for (const path of candidates) {
    if (!existsSync(path)) continue;
    try {
      return { text: await readFile(path, "utf8"), file: name };
    } catch (e) {
      throw new DockerfileNotFoundError(path, { cause: e });
    }
  }
  throw new DockerfileNotFoundError(candidates.at(-1)!);
}
