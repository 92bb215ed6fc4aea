import type { ContextSource } from "@molt/context-source";
import type { BlobStore } from "@molt/layer-writer";
import type { Registry } from "@molt/registry-client";
import type { KeySalt } from "../cache/key.js";
import type { SnapshotStore } from "../cache/snapshot-store.js";
import type { StepCache } from "../cache/step-cache.js";
import type { StepId } from "../events.js";
import type { BuildOptions } from "../options.js";
import type { Runner } from "../runner/index.js";
import type { BuildEvents } from "../step-events.js";
import type { BaseResolver } from "./base-image.js";
import type { LayerRef } from "./image-state.js";
import type { SharedRoots } from "./shared-roots.js";
import type { StageFs } from "./stage-fs.js";

/** What every stage of one build shares: stores, clients, clocks, and what must be cleaned up. */
export interface BuildSession {
  readonly options: BuildOptions;
  /** The build's event stream: step ids, step lifecycles, the parts' events forwarded. */
  readonly events: BuildEvents;
  readonly context: ContextSource;
  readonly store: BlobStore;
  readonly client: Registry;
  /** The build's private temporary directory (removed at the end). */
  readonly work: string;
  /** ISO timestamp for config and history (`SOURCE_DATE_EPOCH` when set). */
  readonly created: string;
  readonly sourceDateEpoch: number | undefined;
  /** Root filesystems materialised so far, closed (unmounted) when the build ends. */
  readonly filesystems: StageFs[];
  /** Sources for `COPY --from` (earlier stages or images), prepared on first use. */
  fromSource(
    ref: string,
    current: number,
    location: { file: string; line: number; column: number },
    step?: StepId,
  ): Promise<ContextSource>;
  /** The key input of a `--from` source (an earlier stage's final key, an image's digest). */
  fromKey(
    ref: string,
    current: number,
    location: { file: string; line: number; column: number },
  ): Promise<{ digest: string; display: string }>;
  /** The layer cache, when the build uses one. */
  readonly cache: StepCache | undefined;
  /** The key salt of the build (the cache's, or a random one without a cache). */
  readonly keySalt: KeySalt;
  /** Plan only (`--dryrun`): keys and probes, no file-changing work. */
  readonly dryRun: boolean;
  /**
   * Settles once the destinations are known to accept pushes (the push-permission check, run
   * while the stages resolve their bases and probe the cache); no step runs before it resolves.
   */
  readonly ready?: Promise<void>;
  /** Base images resolved once per build (and ahead of their stages). */
  readonly bases?: BaseResolver;
  /** Roots of one base extracted once for the stages that materialise it at the same time. */
  readonly roots?: SharedRoots;
  /**
   * The persistent store of extracted roots (`--cache-dir`, see `cache/snapshot-store.ts`), opened
   * on first use; absent when the build keeps none.
   */
  snapshots?: (() => Promise<SnapshotStore | undefined>) | undefined;
  /** The RUN runner, chosen once per build on first use. */
  runner(): Promise<Runner>;
  /**
   * Starts choosing the runner (its host probes) before a RUN asks for it, without the
   * `molt:build:runner` event; a failure is {@link runner}'s to report.
   */
  runnerAhead?(): void;
  /**
   * Stages whose layers no output and no cache will hold (not in the final image's chain, no
   * cache): written uncompressed, as only this build's own steps read them back.
   */
  readonly scratchLayerStages?: ReadonlySet<number>;
  /**
   * Stages only read as files (`COPY --from`, `RUN --mount from=`; see `stage/files-only.ts`):
   * their last RUN steps run straight in the root, with no snapshot and no layer.
   */
  readonly filesOnlyStages?: ReadonlySet<number>;
  /** Told of every layer a stage writes (the final image's are uploaded ahead of the push step). */
  readonly layerWritten?: (stage: number, layer: LayerRef) => void;
  /** Told of the layers of a stage's base image once it is resolved (the final image's are mounted ahead of the push step). */
  readonly baseResolved?: (stage: number, layers: readonly LayerRef[]) => void;
  /**
   * For a cached layer a stage took from a registry: the push's own mount of it into the
   * destinations, started now, standing in for the check that the cache still has its blob
   * (see `stage/taken-layers.ts`); `undefined` where the push does not (not a layer of the final
   * image, a destination on another registry).
   */
  readonly confirmCached?: (stage: number, layer: LayerRef) => Promise<boolean> | undefined;
}
