import { availableParallelism } from "node:os";
import { join } from "node:path";
import { type ContextSource, openContext, readDockerfile } from "@molt/context-source";
import { BlobStore } from "@molt/layer-writer";
import {
  DEFAULT_PLATFORM,
  type Digest,
  formatReference,
  type ImageConfig,
  type Manifest,
  type Platform,
  parsePlatform,
  parseReference,
  type Reference,
} from "@molt/oci";
import { type PlannedStage, PROXY_ARGS, parseDockerfile, planBuild, predefinedArgs } from "@molt/parser";
import { type Registry, RegistryClient } from "@molt/registry-client";
import createDebug from "debug";
import { resolveCacheOptions } from "./cache/cache-options.js";
import { copySourcesAhead, walkContextAhead } from "./cache/context-ahead.js";
import { shareContextReads } from "./cache/context-reads.js";
import { attachDigestMemo } from "./cache/digest-memo.js";
import { KeySalt } from "./cache/key.js";
import { openBuildCache } from "./cache/open.js";
import type { StepCache } from "./cache/step-cache.js";
import { failOnCheckWarnings } from "./check-directive.js";
import { BuildAbortedError, InvalidBuildOptionsError, throwIfAborted } from "./errors.js";
import { EVENTS_VERSION } from "./events.js";
import { assembleImage } from "./image/assemble.js";
import { squashStageLayers } from "./image/single-snapshot.js";
import { checkBuildArgsNul, checkRunNul } from "./instructions/run-checks.js";
import { startCacheMountTravel } from "./mounts/prepare.js";
import type { BuildOptions } from "./options.js";
import { EarlyPush } from "./outputs/early-push.js";
import { dropLayersAhead, openLayerAhead } from "./outputs/layer-bytes.js";
import { withOutputs } from "./outputs/list.js";
import { writeOutputs } from "./outputs/write-outputs.js";
import { registryClientOptions } from "./registry/client-options.js";
import { cachePushTargets, checkPushPermissions } from "./registry/push-permission.js";
import { type Runner, selectRunner } from "./runner/index.js";
import { finalLayerStages, runIsCertain, stageRunIsCertain } from "./stage/ahead.js";
import { BaseResolver, pullBaseState, scratchState } from "./stage/base-image.js";
import { createRuntime } from "./stage/create-runtime.js";
import { FilesOnlyRelease, filesOnlyStages, straightRuns } from "./stage/files-only.js";
import { FromSources } from "./stage/from-sources.js";
import { cloneState, type ImageState } from "./stage/image-state.js";
import { layoutBaseState } from "./stage/layout-base.js";
import { takeOnbuildTriggers } from "./stage/onbuild-triggers.js";
import { type ArgDefaults, runStage, type StepReport } from "./stage/run-stage.js";
import type { StageRuntime } from "./stage/runtime.js";
import { type StageSlot, scheduleStages } from "./stage/schedule.js";
import type { BuildSession } from "./stage/session.js";
import { SharedRoots } from "./stage/shared-roots.js";
import { snapshotStoreOf } from "./stage/snapshot-root.js";
import { fromStepInfo } from "./stage/step-name.js";
import { makeWorkDir, removeWorkDir } from "./stage/work-dir.js";
import { BuildEvents } from "./step-events.js";

const debug = createDebug("molt:build");

/** What {@link build} produced. */
export interface BuildResult {
  /** Digest of the image manifest. */
  digest: Digest;
  manifest: Manifest;
  config: ImageConfig;
  /** Destinations pushed to, with the digest each registry acknowledged. */
  pushed: { reference: string; digest: Digest }[];
  /** Every step of every stage built: its cache key and whether it came from the cache. */
  steps: StepReport[];
}

/** What {@link dryRun} found: the stages and steps a build would run, their keys and cache hits. */
export interface DryRunResult {
  stages: { index: number; name?: string; base: string }[];
  steps: StepReport[];
}

/**
 * Builds an image from a Dockerfile and writes it to the requested outputs: registry
 * destinations, an OCI layout directory, a digest file. The final image's layers are uploaded
 * to the destinations as they are written (once the push-permission check passed), its config
 * and each destination's manifest only when the whole image is built, so a failed build or push
 * never leaves a half-pushed image under a tag (at most blobs that no manifest names). Temporary files and mounts are removed on success,
 * failure and abort.
 *
 * @example
 * ```ts
 * import { build } from "molt";
 * const { digest } = await build({ context: "./app", destinations: ["registry.example/app:1.2"] });
 * ```
 */
export async function build(given: BuildOptions): Promise<BuildResult> {
  const options = withOutputs(given);
  try {
    return await buildImage(options);
  } catch (e) {
    if (options.signal?.aborted && !(e instanceof BuildAbortedError))
      throw new BuildAbortedError({ cause: e });
    throw e;
  }
}

/**
 * Plans a build without running it (`--dryrun`): resolves base images (manifests only), computes
 * every step's chained cache key and probes the cache, but runs no RUN, writes no layer and
 * pushes nothing. Each step says whether it would come from the cache, and why not.
 *
 * @example
 * ```ts
 * const plan = await dryRun({ context: ".", noPush: true, cache: { stores: [{ type: "registry", repo: "registry.example/app/cache" }] } });
 * for (const s of plan.steps) console.log(s.stage, s.step, s.key, s.cached ? "hit" : s.reason);
 * ```
 */
export async function dryRun(options: BuildOptions): Promise<DryRunResult> {
  const result = await buildImage({ ...options, noPush: true }, true);
  return result as unknown as DryRunResult;
}

async function buildImage(options: BuildOptions, plan = false): Promise<BuildResult> {
  const destinations = options.destinations ?? [];
  if (!plan && !options.noPush && destinations.length === 0 && !options.ociLayoutPath && !options.tarPath) {
    throw new InvalidBuildOptionsError(
      "no output: give a destination, an OCI layout path, a tar path, or --no-push",
    );
  }
  const destRefs = destinations.map((d) => parseReference(d));
  const targets = options.noPush ? [] : destRefs;
  const platform: Platform = options.platform ? parsePlatform(options.platform) : DEFAULT_PLATFORM;
  const signal = options.signal;
  throwIfAborted(signal);
  const t0 = performance.now();
  // The build's own signal: aborted by the caller's, or by the first failing stage (cancelling its siblings).
  const internal = new AbortController();
  const buildSignal = signal ? AbortSignal.any([signal, internal.signal]) : internal.signal;
  const events = new BuildEvents(options.onProgress, buildSignal);
  try {
    return await runBuild(options, { destRefs, targets, platform, plan, events, t0, internal, buildSignal });
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    events.emit({
      type: "molt:build:error",
      message: e instanceof Error ? e.message : String(e),
      ...(typeof code === "string" ? { code } : {}),
      durationMs: Math.round(performance.now() - t0),
    });
    throw e;
  }
}

/** The build once its options are checked and its events set up: open the context, build, write outputs. */
async function runBuild(
  options: BuildOptions,
  given: {
    destRefs: Reference[];
    targets: Reference[];
    platform: Platform;
    plan: boolean;
    events: BuildEvents;
    t0: number;
    internal: AbortController;
    buildSignal: AbortSignal;
  },
): Promise<BuildResult> {
  const { destRefs, targets, platform, plan, events, t0, internal, buildSignal } = given;
  const signal = options.signal;
  const signalOpt = signal ? { signal } : {};

  const dockerfileSpec = options.dockerfile ?? "Dockerfile";
  const spec = options.context;
  const context: ContextSource =
    typeof spec === "string"
      ? await events.run({ kind: "context", name: "[internal] load build context" }, (step) =>
          openContext(spec, {
            ...signalOpt,
            ...(options.contextSubPath ? { subPath: options.contextSubPath } : {}),
            ...(options.git ? { git: options.git } : {}),
            ...(options.tmpDir ? { tmpDir: options.tmpDir } : {}),
            ...(options.dockerfileText === undefined && dockerfileSpec !== "-"
              ? {
                  dockerfilePath: dockerfileSpec,
                  dockerfilePrefer: options.dockerfile ? ("cwd" as const) : ("context" as const),
                }
              : {}),
            ...(events.listening ? { onProgress: events.forStep(step) } : {}),
          }),
        )
      : spec;
  try {
    const result = await buildInContext(options, context, {
      dockerfileSpec,
      destRefs,
      targets,
      platform,
      plan,
      events,
      cancel: { controller: internal, signal: buildSignal },
    });
    if (!plan) {
      events.emit({
        type: "molt:build:done",
        digest: result.digest,
        durationMs: Math.round(performance.now() - t0),
      });
    }
    return result;
  } finally {
    if (typeof options.context === "string") await context.close();
  }
}

/** The build once its context is open: read and plan the Dockerfile, run the stages, write outputs. */
async function buildInContext(
  options: BuildOptions,
  context: ContextSource,
  given: {
    dockerfileSpec: string;
    destRefs: Reference[];
    targets: Reference[];
    platform: Platform;
    plan: boolean;
    events: BuildEvents;
    /** Aborting `controller` cancels every running stage (`signal` is what they watch). */
    cancel: { controller: AbortController; signal: AbortSignal };
  },
): Promise<BuildResult> {
  const { dockerfileSpec, destRefs, targets, platform, events } = given;
  const signal = options.signal;
  const signalOpt = signal ? { signal } : {};
  const read =
    options.dockerfileText === undefined
      ? await readDockerfile(dockerfileSpec, {
          context,
          prefer: options.dockerfile ? "cwd" : "context",
          ...signalOpt,
        })
      : undefined;
  const text = options.dockerfileText ?? read!.text;
  const file = dockerfileSpec === "-" ? "Dockerfile" : dockerfileSpec;
  if (read?.invalidUtf8) {
    const { line, column } = read.invalidUtf8;
    events.emit({
      type: "molt:build:warning",
      message: `column ${column}: not valid UTF-8; the invalid bytes are read as U+FFFD [MOLT_DOCKERFILE_INVALID_UTF8]`,
      file,
      line,
    });
  }
  const buildArgs = options.buildArgs ?? {};
  const dockerfile = parseDockerfile(text, { file });
  checkRunNul(text, dockerfile.stages, dockerfile.metaArgs);
  checkBuildArgsNul(buildArgs);
  const plan = planBuild(dockerfile, {
    ...(options.target ? { target: options.target } : {}),
    buildArgs,
    platform,
  });
  const jobs = Math.max(1, Math.floor(options.jobs ?? availableParallelism()));
  events.emit({
    type: "molt:build:start",
    version: EVENTS_VERSION,
    stages: plan.stages.length,
    target: plan.target.stage.index,
    jobs,
  });
  for (const w of dockerfile.warnings) {
    events.emit({
      type: "molt:build:warning",
      message: w.message,
      file,
      ...(w.location ? { line: w.location.line } : {}),
    });
  }
  failOnCheckWarnings(dockerfile);
  const work = makeWorkDir(options.tmpDir);
  let ownClient: RegistryClient | undefined;
  let client: Registry | undefined = options.registry;
  const filesystems: BuildSession["filesystems"] = [];
  const closers: (() => Promise<void>)[] = [];
  let cache: StepCache | undefined;
  try {
    const store = await BlobStore.open(join(work, "blobs"));
    // Every image pulled: FROM bases and COPY --from / --mount from= images (pull-side flags).
    const baseImages = plan.stages.flatMap((st) => [
      ...(st.baseImage ? [st.baseImage] : []),
      ...st.externalImages,
    ]);
    const cacheRepos = resolveCacheOptions(options.cache).repos.map((r) => parseReference(r));
    const cacheTargets = cachePushTargets(options);
    client ??= ownClient = new RegistryClient(
      registryClientOptions(options, [...targets, ...cacheRepos, ...cacheTargets], baseImages),
    );
    // Destinations (and each cache repository this build writes) were parsed up front; now check
    // that each accepts a push, before any step runs (stages resolve their bases and probe the
    // cache meanwhile). Its failure is the build's.
    const ready =
      !given.plan && !options.skipPushPermissionCheck
        ? checkPushPermissions(client, [...targets, ...cacheTargets], signalOpt)
        : undefined;
    ready?.catch(() => {});
    // With a cache, the directories the first COPY steps' keys read are walked now, while the
    // push check, the digest memo and the base image wait on the network and the disk (the
    // 20,000-file warm build's main thread was idle 25 ms before its COPY started, 9 ms with
    // this; medians of 7 profiled runs each; see cache/context-ahead.ts).
    const unshareReads = shareContextReads(context);
    closers.push(async () => unshareReads());
    if (resolveCacheOptions(options.cache).stores.length > 0) {
      const ahead = walkContextAhead(context, copySourcesAhead(plan.stages, jobs), given.cancel.signal);
      closers.push(() => ahead);
    }
    // Every stage's base is resolved now, beside that check (not when its stage starts); a base
    // pre-warmed into --cache-dir is looked for there first, so nothing is asked ahead then.
    const bases = new BaseResolver(client, given.cancel.signal);
    // A stage sure to RUN extracts its base: with no cache to skip the RUN and no --cache-dir
    // snapshot to start from, its layers are asked for as soon as the manifest is in, beside the
    // config (issue 16).
    const layersAhead =
      !given.plan && resolveCacheOptions(options.cache).stores.length === 0 && !snapshotStoreOf(options);
    if (warmDir(options) === undefined)
      for (const p of plan.stages)
        if (p.baseImage && p.baseImage !== "scratch" && p.baseStage === undefined)
          bases.resolve(
            p.baseImage,
            p.platform ? parsePlatform(p.platform) : platform,
            undefined,
            layersAhead &&
              plan.stages.some(
                (q) =>
                  q.baseImage === p.baseImage &&
                  q.baseStage === undefined &&
                  q.stage.instructions.some((i) => i.kind === "RUN"),
              )
              ? (manifest, reference) => {
                  // The first layer only: extraction opens the next ones as it goes, and a body
                  // held open ahead holds one of the registry's connections.
                  const descriptor = manifest.layers[0];
                  if (descriptor)
                    openLayerAhead(descriptor, reference, {
                      client: bases.client,
                      store,
                      signal: given.cancel.signal,
                    });
                }
              : undefined,
          );
    closers.push(() => dropLayersAhead(store));
    cache = await openBuildCache(options, client, { dryRun: given.plan });
    const sourceDateEpoch = options.sourceDateEpoch ?? (options.reproducible ? 0 : undefined);
    const created = new Date(
      sourceDateEpoch !== undefined ? sourceDateEpoch * 1000 : Date.now(),
    ).toISOString();
    let runner: Promise<Runner> | undefined;
    // The runner is chosen (host probes) at the first RUN, or at once when a RUN is sure to run.
    let chosen: Promise<Runner> | undefined;
    const choose = () =>
      (chosen ??=
        typeof options.runner === "object"
          ? Promise.resolve(options.runner)
          : selectRunner(options.runner ?? "auto", { allowInPlace: options.allowInPlace ?? false }));
    if (!given.plan && runIsCertain(plan, cache)) choose().catch(() => {});
    // Layers of the final image are uploaded as they are written, once the destinations passed the check.
    const early =
      !given.plan && targets.length > 0
        ? new EarlyPush(client, targets, { client, store, signal: given.cancel.signal }, ready)
        : undefined;
    const finalStages = finalLayerStages(plan, options.singleSnapshot ?? false);
    if (early) closers.push(() => early.close());
    const snapshots = snapshotStoreOf(options);
    const digests = await attachDigestMemo(options, context);
    if (digests) closers.push(() => digests.save());
    const filesOnly = filesOnlyStages(plan, {
      recorded:
        cache !== undefined ||
        snapshots !== undefined ||
        options.snapshotter !== undefined ||
        given.plan ||
        (options.singleSnapshot ?? false),
    });
    const release = new FilesOnlyRelease(plan, filesOnly);
    closers.push(() => release.settled());
    const session: BuildSession = {
      // Stages watch the build's signal, so the first failure cancels its siblings.
      options: { ...options, signal: given.cancel.signal },
      events,
      context,
      store,
      client,
      work,
      created,
      sourceDateEpoch,
      filesystems,
      cache,
      keySalt: cache?.salt ?? KeySalt.random(),
      dryRun: given.plan,
      ...(ready ? { ready } : {}),
      bases,
      roots: new SharedRoots(),
      ...(snapshots ? { snapshots } : {}),
      runner: () => {
        runner ??= (async () => {
          const r = await choose();
          events.emit({ type: "molt:build:runner", name: r.name, limitations: [...r.limitations] });
          return r;
        })();
        return runner;
      },
      runnerAhead: () => {
        choose().catch(() => {});
      },
      ...(early
        ? {
            layerWritten: (stage, layer) => finalStages.has(stage) && early.layer(layer),
            baseResolved: (stage, layers) => finalStages.has(stage) && early.baseLayers(layers),
            confirmCached: (stage, layer) => (finalStages.has(stage) ? early.cachedLayer(layer) : undefined),
          }
        : {}),
      // Without a cache, an intermediate stage's layers are read back only by this build's steps.
      ...(!cache && !options.singleSnapshot
        ? {
            scratchLayerStages: new Set(
              plan.stages.map((p) => p.stage.index).filter((i) => !finalStages.has(i)),
            ),
          }
        : {}),
      // Stages only read as files: their last RUNs run straight in the root (nothing is recorded
      // of them: no cache, no --cache-dir snapshots, no snapshotter of the user's, no plan).
      filesOnlyStages: filesOnly,
      fromSource: (ref, current, location, step) => fromSources.get(ref, current, location, step),
      fromKey: (ref, current, location) => fromSources.key(ref, current, location),
    };
    const cacheMounts = startCacheMountTravel(session.options, client);
    const finished = new Map<number, { state: ImageState; runtime: StageRuntime }>();
    // A stage waits for a stage it copies or mounts from only when a step needs it (slot.waitFor).
    const slots = new Map<number, StageSlot>();
    const fromSources = new FromSources(session, dockerfile.stages, finished, platform, (index, current) =>
      slots.get(current)!.waitFor(index),
    );
    closers.push(() => fromSources.close());
    const metaArgs = new Map<string, string>();
    for (const [k, v] of Object.entries(plan.metaArgs)) if (v !== undefined) metaArgs.set(k, v);
    // Proxy build args work without an ARG line (and stay out of history), as BuildKit does.
    const proxyArgs = new Map(Object.entries(buildArgs).filter(([k]) => PROXY_ARGS.includes(k)));

    const argDefaults = { buildArgs, metaArgs, proxyArgs };
    const steps: StepReport[] = [];
    const stages: DryRunResult["stages"] = [];
    // Stages as a graph: each starts once its base stage is done, at most `jobs` at once.
    const byIndex = new Map(plan.stages.map((p) => [p.stage.index, p]));
    const built = new Map<number, Awaited<ReturnType<typeof buildStage>>>();
    await scheduleStages(
      plan.stages.map((p) => ({
        index: p.stage.index,
        dependsOn: p.baseStage === undefined ? [] : [p.baseStage],
        uses: p.dependsOn,
      })),
      async (index, slot) => {
        slots.set(index, slot);
        const done = await buildStage(byIndex.get(index)!, {
          session,
          finished,
          argDefaults,
          platform,
          target: plan.target.stage.index,
          multiStage: plan.stages.length > 1,
          stageNames: dockerfile.stages.map((s) => s.name),
        });
        built.set(index, done);
        finished.set(index, done);
        // A files-only stage's root goes once its readers are done (not at the end of the build).
        release.finished(index, (i) => finished.get(i)?.runtime.discardFilesystem());
      },
      { jobs, signal: options.signal, onFailure: (e) => given.cancel.controller.abort(e) },
    ).catch(async (e: unknown) => {
      // A destination that refuses pushes is the error, even when a stage failed first.
      await ready;
      throw e;
    });
    await ready;
    for (const planned of plan.stages) {
      const done = built.get(planned.stage.index)!;
      steps.push(...done.steps);
      stages.push({
        index: planned.stage.index,
        ...(planned.stage.name ? { name: planned.stage.name } : {}),
        base: done.base,
      });
    }
    if (given.plan) return { stages, steps } as unknown as BuildResult;

    const final = finished.get(plan.target.stage.index)!.state;
    if (options.labels && Object.keys(options.labels).length > 0) {
      const cfg = (final.config.config ??= {});
      cfg.Labels = { ...(cfg.Labels ?? {}), ...options.labels };
    }
    if (options.imageFormat) final.format = options.imageFormat;
    // Docker's schema 2 has no zstd or uncompressed layer types: such images are OCI (as BuildKit does).
    if (final.layers.some((l) => !/gzip$/.test(l.descriptor.mediaType))) {
      if (options.imageFormat === "docker") {
        throw new InvalidBuildOptionsError(
          "--image-format docker cannot describe zstd or uncompressed layers; use oci",
        );
      }
      final.format = "oci";
    }
    const image = assembleImage(final, created, options.annotations);
    const from = { client, store, ...signalOpt };

    const pushed = await writeOutputs(image, final.layers, {
      options,
      destRefs,
      targets,
      from,
      events,
      early,
    });
    await flushCache(cache);
    await cacheMounts?.exportChanged(options.signal);
    return {
      digest: image.manifestDescriptor.digest,
      manifest: image.manifest,
      config: image.config,
      pushed,
      steps,
    };
  } finally {
    // Entries still being written when the build fails are awaited too (they are valid).
    await cache?.flush().catch(() => {});
    for (const close of closers) await close().catch((e) => debug("cleanup failed: %O", e));
    for (const fs of filesystems)
      await fs.close().catch((e) => debug("closing a stage filesystem failed: %O", e));
    await removeWorkDir(work);
    await ownClient?.close();
  }
}

/** What {@link buildStage} needs from the build around it. */
export interface StageBuildContext {
  session: BuildSession;
  /** Stages finished so far (a base stage and `COPY --from` sources are read from here). */
  finished: ReadonlyMap<number, { state: ImageState; runtime: StageRuntime }>;
  argDefaults: {
    buildArgs: Record<string, string>;
    metaArgs: Map<string, string>;
    proxyArgs: Map<string, string>;
  };
  /** The build's target platform (a stage's `FROM --platform` wins). */
  platform: Platform;
  /** Index of the target stage (`--single-snapshot` squashes only its layers). */
  target: number;
  /** More than one stage is built: steps are named `[stage 2/4] …` rather than `[2/4] …`. */
  multiStage?: boolean;
  /** The Dockerfile's stage names by index (for `FROM <stage>` in step names). */
  stageNames?: readonly (string | undefined)[];
}

/**
 * Builds one planned stage: its starting state (base image by manifest, scratch, or a copy of
 * its base stage), ONBUILD triggers of a base image, then its instructions through the cache.
 * Its base stage must be in `ctx.finished`; the stages it copies or mounts from are waited for
 * by `session.fromSource` / `fromKey` when a step gets there, so a scheduler may run it as soon as
 * its base is done.
 */
export async function buildStage(
  planned: PlannedStage,
  ctx: StageBuildContext,
): Promise<{ state: ImageState; runtime: StageRuntime; steps: StepReport[]; base: string }> {
  const { session, finished, argDefaults } = ctx;
  const { options, client } = session;
  const signal = options.signal;
  const { stage } = planned;
  let state!: ImageState;
  let base!: string;
  const stagePlatform = planned.platform ? parsePlatform(planned.platform) : ctx.platform;
  const multiStage = ctx.multiStage ?? false;
  const shownBase =
    planned.baseStage !== undefined
      ? (ctx.stageNames?.[planned.baseStage] ?? String(planned.baseStage))
      : !planned.baseImage || planned.baseImage === "scratch"
        ? "scratch"
        : formatReference(parseReference(planned.baseImage));
  await session.events.run(fromStepInfo(stage, multiStage, shownBase, stage.from.location), async (step) => {
    if (planned.baseStage !== undefined) {
      state = cloneState(finished.get(planned.baseStage)!.state);
      base = `stage ${planned.baseStage}`;
    } else if (!planned.baseImage || planned.baseImage === "scratch") {
      state = scratchState(stagePlatform);
      base = "scratch";
    } else {
      base = planned.baseImage;
      // A base image pre-warmed into --cache-dir (kaniko's meaning) is used without its registry.
      const dir = warmDir(options);
      const warmed = dir ? await layoutBaseState(dir, planned.baseImage, stagePlatform) : undefined;
      state =
        warmed ??
        (
          await pullBaseState(client, planned.baseImage, stagePlatform, {
            ...(signal ? { signal } : {}),
            ...(session.bases ? { resolver: session.bases } : {}),
            events: session.events,
            step,
          })
        ).state;
      if (!warmed && !session.dryRun) session.baseResolved?.(stage.index, state.layers);
    }
  });
  debug("stage %d from %s", stage.index, base);
  // A stage based on another inherits its ARGs; proxy args are always in scope.
  const parent = planned.baseStage !== undefined ? finished.get(planned.baseStage)!.runtime : undefined;
  const inherited = parent ? parent.args : new Map<string, string>();
  // ONBUILD triggers of the base run now, a base image's and a base stage's alike (a stage's
  // config lists only its own ONBUILDs: those of its base were consumed), and are not carried
  // into this stage's config (BuildKit dockerfile2llb resolveStages / dispatchState.init).
  const triggers = takeOnbuildTriggers(state.config, base);
  const instructions = [...triggers, ...stage.instructions];
  const rt = createRuntime(
    session,
    stage.index,
    state,
    new Map([...argDefaults.proxyArgs, ...inherited]),
    parent ? parent.declaredArgs : [],
    session.filesOnlyStages?.has(stage.index) ? straightRuns(instructions) : undefined,
  );
  // A stage sure to RUN extracts its base now, beside planning and the other stages' work.
  if (!session.dryRun && stageRunIsCertain(stage, session.cache)) rt.materialiseAhead?.();
  const layersBefore = state.layers.length;
  const defaults: ArgDefaults = {
    buildArgs: argDefaults.buildArgs,
    metaArgs: argDefaults.metaArgs,
    predefined: predefinedArgs(stagePlatform, hostPlatform(), stage.name),
  };
  const steps = await runStage(instructions, rt, defaults, session.cache, {
    dryRun: session.dryRun,
    ready: session.ready,
    fromReady: (ref) => {
      const index = /^\d+$/.test(ref) ? Number(ref) : (ctx.stageNames ?? []).indexOf(ref.toLowerCase());
      // An image (no such stage) is keyed by its digest: no stage to wait for.
      return index < 0 || finished.has(index);
    },
    stageName: stage.name,
    multiStage,
  });
  if (options.singleSnapshot && stage.index === ctx.target && !session.dryRun)
    await squashStageLayers(session, state, layersBefore, stage.index);
  return { state, runtime: rt, steps, base };
}

/** Waits for the cache writes, then keeps a local cache directory under its size limit. */
async function flushCache(cache: StepCache | undefined): Promise<void> {
  if (!cache) return;
  await cache.flush();
  await cache.enforceLimits();
}

/** The directory that serves pre-warmed base images: the first directory cache store. */
function warmDir(options: BuildOptions): string | undefined {
  return resolveCacheOptions(options.cache).dirs[0]?.path;
}

/** The platform molt itself runs on (BUILDPLATFORM). */
function hostPlatform(): Platform {
  const arch: Record<string, string> = {
    x64: "amd64",
    arm64: "arm64",
    arm: "arm",
    ia32: "386",
    ppc64: "ppc64le",
    s390x: "s390x",
    riscv64: "riscv64",
  };
  return { os: "linux", architecture: arch[process.arch] ?? process.arch };
}
