import type { ContextSource } from "@molt/context-source";
import type { BlobStore } from "@molt/layer-writer";
import type { Change, FileEntry } from "@molt/oci";
import type { KeySalt } from "../cache/key.js";
import type { CacheHit } from "../cache/layer-cache.js";
import type { StepId } from "../events.js";
import type { BuildOptions } from "../options.js";
import type { Runner } from "../runner/index.js";
import type { BuildEvents } from "../step-events.js";
import { getEnv } from "./env.js";
import type { ImageState, LayerRef } from "./image-state.js";
import type { RootView } from "./root-view.js";
import type { StageFs } from "./stage-fs.js";
import type { ConfirmCached } from "./taken-layers.js";

/** Everything an instruction handler may read or change while a stage runs. */
export interface StageRuntime {
  /** Index of the stage in the Dockerfile. */
  readonly stage: number;
  /** Index of the current instruction within the stage (1-based, FROM is 0). */
  step: number;
  /** The build-wide id of the current step: every event about it carries this (see `events.ts`). */
  stepId: StepId;
  /** Where the stage's events go. */
  readonly events: BuildEvents;
  /** The image being built. */
  readonly state: ImageState;
  /** ARG values in scope (build args applied). Never persisted in the image. */
  readonly args: Map<string, string>;
  /** Names of ARGs declared in the stage (or inherited from its base stage): only these enter cache keys. */
  readonly declaredArgs: Set<string>;
  /** The build's key salt: hidden key inputs and the expanded instruction are keyed with it. */
  readonly keySalt: KeySalt;
  /** ADD URL downloads of this stage, by URL (shared by the key and the work). */
  readonly downloads: Map<string, Promise<FileEntry & { digest: string }>>;
  readonly context: ContextSource;
  readonly store: BlobStore;
  readonly options: BuildOptions;
  /** The timestamp written into history entries. */
  readonly created: string;
  /** True once the stage itself set CMD (an inherited CMD is dropped by ENTRYPOINT). */
  cmdSetInStage: boolean;
  /**
   * Writes a layer from `changes` and appends it (with a history entry) to the image. Unless
   * `inRoot` says the changes are already on the stage's root filesystem (RUN), a materialised
   * root gets the layer applied too.
   */
  addLayer(
    changes: Change[],
    createdBy: string,
    options?: {
      inRoot?: boolean;
      parents?: (path: string) => Promise<FileEntry | undefined>;
      /** Bytes held for a file's source (the digest memo's), written instead of reading it (writeLayer's `knownBytes`). */
      knownBytes?: (source: string) => Buffer | undefined;
    },
  ): Promise<LayerRef>;
  /**
   * Takes a step's result from the cache: appends its layer (by descriptor; the bytes are read
   * only if the root is, or gets, materialised) and its history entry.
   */
  useCached(hit: CacheHit): Promise<void>;
  /** Appends a history entry for a step that changes no files. */
  addEmptyHistory(createdBy: string): void;
  /**
   * The stage's root filesystem, materialised on first use (only RUN needs it). The download and
   * extraction events go to `forStep` (default: the stage's current step).
   */
  filesystem(forStep?: StepId): Promise<StageFs>;
  /**
   * Starts materialising the root now (a RUN is sure to need it), beside whatever the build does
   * meanwhile; its download and extraction events are held for the step that asks for the root
   * first ({@link StageRuntime.filesystem}).
   */
  materialiseAhead?(): void;
  /**
   * A read-only view of the stage's root for COPY, ADD and WORKDIR (undefined while the image has
   * no layers): the materialised root when there is one, else the layers' index, so that copying
   * onto a base image extracts nothing (see `stage/base-index.ts`).
   */
  rootView(): Promise<RootView | undefined>;
  /**
   * Set by the stage loop before each step: a later step of the stage is sure to materialise the
   * root (a RUN, with no cache that could skip it), so reading an index first would be wasted.
   */
  rootNeededLater: boolean;
  /** Set by the stage loop before each step: a RUN follows later in the stage (cached or not). */
  runLater: boolean;
  /**
   * Drops the materialised root (closed, its directory removed), so the next
   * {@link StageRuntime.filesystem} materialises a fresh one from the layers the image then has.
   */
  discardFilesystem(): Promise<void>;
  /** A new empty directory inside the build's private temporary directory (removed with it). */
  scratchDir(name: string): Promise<string>;
  /** The cache key input of `--from=<ref>`: an earlier stage's final key or an image's digest. */
  fromKey(
    ref: string,
    location: { file: string; line: number; column: number },
  ): Promise<{ digest: string; display: string }>;
  /** The files of an earlier stage or an image, for `COPY --from`. */
  fromSource(ref: string, location: { file: string; line: number; column: number }): Promise<ContextSource>;
  /**
   * Set in a stage that is only read as files (see `stage/files-only.ts`): RUN steps at this
   * step ({@link StageRuntime.step}) and after run straight in the root, with no snapshot, no
   * layer and no history entry (nothing reads this stage's layers, config or history).
   */
  readonly straightRunsFrom?: number;
  /** The RUN runner chosen for this build. */
  runner(): Promise<Runner>;
  /** Starts choosing the runner ahead of the RUN that will need it (see the session's `runnerAhead`). */
  runnerAhead(): void;
  /** The push's check of a cached layer of this stage, where one stands in for its `present` (see the session's). */
  readonly confirmCached?: ConfirmCached;
}

/** Variable lookup for expansion: the image's ENV wins over ARGs, as the reference specifies. */
export function lookupIn(rt: Pick<StageRuntime, "state" | "args">): (name: string) => string | undefined {
  return (name) => getEnv(rt.state.config.config?.Env, name) ?? rt.args.get(name);
}
