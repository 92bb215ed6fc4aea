import { join } from "node:path";
import { type ContextSource, openDirectoryContext } from "@molt/context-source";
import type { Platform } from "@molt/oci";
import type { Stage } from "@molt/parser";
import { type BuildStepError, CopyFromStageError, type ErrorLocation } from "../errors.js";
import type { StepId } from "../events.js";
import { pullBaseState } from "./base-image.js";
import { extractLimits } from "./extract-limits.js";
import type { ImageState } from "./image-state.js";
import type { StageRuntime } from "./runtime.js";
import type { BuildSession } from "./session.js";
import { materialise } from "./stage-fs.js";

/**
 * Where `COPY --from=<x>` reads: an earlier stage (by index or case-insensitive name), whose root
 * filesystem is materialised if no RUN did so already, or else an image pulled by reference.
 * Each source is prepared once per build and viewed as a read-only context (nothing ignored).
 */
export class FromSources {
  readonly #cache = new Map<string, Promise<ContextSource>>();
  readonly #opened: ContextSource[] = [];
  readonly #images = new Map<string, Promise<ImageState>>();
  /** Numbers the `from-N` directories of images (taken synchronously, so never shared). */
  #dirs = 0;

  constructor(
    private readonly session: BuildSession,
    private readonly stages: readonly Stage[],
    private readonly finished: ReadonlyMap<number, { state: ImageState; runtime: StageRuntime }>,
    private readonly platform: Platform,
    /** Resolves once stage `index` has finished (the stage `current` gives up its job meanwhile). */
    private readonly waitStage: (index: number, current: number) => Promise<void> = () => Promise.resolve(),
  ) {}

  /**
   * The source for `ref`, as seen from the stage with index `current`; `step` is the step whose
   * events the download and extraction of an image belong to.
   */
  get(ref: string, current: number, location: ErrorLocation, step?: StepId): Promise<ContextSource> {
    const stage = this.#stage(ref);
    if (stage) {
      // Waits for the stage first; its files are prepared once, by whichever stage gets there first.
      return this.#finished(ref, stage, current, location).then(() => {
        const key = `stage:${stage.index}`;
        let p = this.#cache.get(key);
        if (!p) {
          p = this.#prepare(ref, stage, current, location, step);
          this.#cache.set(key, p);
        }
        return p;
      });
    }
    const key = `image:${ref}`;
    let p = this.#cache.get(key);
    if (!p) {
      p = this.#prepare(ref, stage, current, location, step);
      this.#cache.set(key, p);
    }
    return p;
  }

  /**
   * The cache key input of `ref` without preparing anything: an earlier stage's final chain key,
   * or an image's manifest digest (manifest and config fetched, no layer).
   */
  async key(
    ref: string,
    current: number,
    location: ErrorLocation,
  ): Promise<{ digest: string; display: string }> {
    const stage = this.#stage(ref);
    if (stage) {
      // Only the stage's final key is needed: a fully cached stage has it without running anything.
      const done = await this.#finished(ref, stage, current, location);
      return { digest: done.state.chainKey, display: `stage ${stage.index}` };
    }
    const state = await this.#image(ref);
    return { digest: state.chainKey, display: state.chainBase };
  }

  #stage(ref: string): Stage | undefined {
    return /^\d+$/.test(ref)
      ? this.stages[Number(ref)]
      : this.stages.find((s) => s.name === ref.toLowerCase());
  }

  /** Waits until the stage `ref` names has finished (it must come before `current`). */
  async #finished(
    ref: string,
    stage: Stage,
    current: number,
    location: ErrorLocation,
  ): Promise<{ state: ImageState; runtime: StageRuntime }> {
    if (stage.index >= current) throw notBefore(ref, stage, location);
    if (!this.finished.has(stage.index)) await this.waitStage(stage.index, current);
    const done = this.finished.get(stage.index);
    if (!done) throw notBefore(ref, stage, location);
    return done;
  }

  /** The image `ref` by manifest and config, once per build; its retries go to `step` when given. */
  #image(ref: string, step?: StepId): Promise<ImageState> {
    let p = this.#images.get(ref);
    if (!p) {
      const signal = this.session.options.signal;
      p = pullBaseState(this.session.client, ref, this.platform, {
        ...(signal ? { signal } : {}),
        ...(step !== undefined ? { events: this.session.events, step } : {}),
      }).then((r) => r.state);
      this.#images.set(ref, p);
    }
    return p;
  }

  async #prepare(
    ref: string,
    stage: Stage | undefined,
    current: number,
    location: ErrorLocation,
    step: StepId | undefined,
  ): Promise<ContextSource> {
    const { session } = this;
    const signal = session.options.signal;
    let root: string;
    if (stage) {
      // A fully cached source stage is materialised only now, from its cached layer blobs.
      // Its events belong to the step that asked (the source stage's own steps are over).
      root = (await (await this.#finished(ref, stage, current, location)).runtime.filesystem(step)).root;
    } else {
      // Numbered before any await, so concurrent stages never share a directory.
      const dir = join(session.work, `from-${this.#dirs++}`);
      const onProgress = step !== undefined ? session.events.forStep(step) : undefined;
      const state = await this.#image(ref, step);
      const fs = await materialise(
        dir,
        state.layers,
        { client: session.client, store: session.store, ...(signal ? { signal } : {}), onProgress },
        {
          mode: "walk",
          extractor: session.options.extractor,
          limits: extractLimits(session.options),
          onProgress,
        },
      );
      session.filesystems.push(fs);
      root = fs.root;
    }
    const ctx = await openDirectoryContext(root, { ignorePatterns: [] });
    this.#opened.push(ctx);
    return ctx;
  }

  /** Closes the views (the directories belong to the build and go with it). */
  async close(): Promise<void> {
    for (const c of this.#opened) await c.close().catch(() => {});
  }
}

function notBefore(ref: string, stage: Stage, location: ErrorLocation): BuildStepError {
  return new CopyFromStageError(
    `COPY --from=${ref}: stage ${stage.index} is not built before this one`,
    location,
  );
}
