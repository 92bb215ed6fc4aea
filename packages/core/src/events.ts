import type { ContextProgressEvent } from "@molt/context-source";
import type { LayerProgressEvent } from "@molt/layer-writer";
import type { ArchiveProgressEvent, Digest } from "@molt/oci";
import type { RegistryProgressEvent } from "@molt/registry-client";
import type { ExtractProgressEvent } from "@molt/snapshotter";

// The parts' own event types, named here too, so `molt` and `@molt/core` export the whole union.
export type {
  ArchiveProgressEvent,
  ContextProgressEvent,
  ExtractProgressEvent,
  LayerProgressEvent,
  RegistryProgressEvent,
};

/**
 * The version of the event model below. It goes up when a member changes shape or meaning;
 * new members and new optional fields do not change it (so switch with a default branch).
 * `molt build --progress=json` writes it into every line as `v`.
 *
 * Changes:
 * - **2**: `molt:step:log` carries the lines of one output chunk, `lines: string[]`, instead of
 *   one `line` per event (a step printing 100,000 lines made 100,000 events; now a few dozen).
 *   `partial` now says that the last entry of `lines` is a piece of a longer line, continued
 *   in the next `molt:step:log` of that step and stream.
 * - **1**: the first model.
 */
export const EVENTS_VERSION = 2;

/**
 * A build-wide step id: every step (loading the context, each stage's `FROM` and instructions,
 * each output) gets the next integer when it starts, and every event about that step carries
 * it as `step`. Renderers keep their state per step id; parallel stages interleave by it.
 */
export type StepId = number;

/** What a step is: BuildKit's vertices, as molt has them. */
export type StepKind =
  /** Opening the build context (`[internal] load build context`). */
  | "context"
  /** A stage's `FROM`: resolving the base image (or waiting for the base stage). */
  | "from"
  /** One Dockerfile instruction of a stage (ONBUILD triggers included). */
  | "instruction"
  /** Writing an output: OCI layout, tarball, digest files, or pushing to destinations. */
  | "output";

/**
 * A step started. `name` is ready to show in BuildKit's shape: `[build 2/4] RUN make`
 * (`[2/4] …` in a single-stage build; `[internal] load build context`; `exporting to …`).
 */
export interface StepStartEvent {
  type: "molt:step:start";
  step: StepId;
  kind: StepKind;
  name: string;
  /** Stage index in the Dockerfile (steps of a stage). */
  stage?: number;
  /** The stage's name (`FROM … AS name`), when it has one. */
  stageName?: string;
  /** Position in the stage, BuildKit's way: `FROM` is 1, the first instruction 2. */
  index?: number;
  /** Steps in the stage, `FROM` included. */
  of?: number;
  /** The instruction as written (continuation lines joined). */
  instruction?: string;
  /** Where the instruction is in the Dockerfile. */
  location?: { file: string; line: number; column: number };
}

/**
 * Every event a build emits, as one discriminated union on `type`, named `molt:<part>:<what>`.
 * `build({ onProgress })` receives all of them, so a renderer needs nothing else:
 *
 * | type | when | fields |
 * |---|---|---|
 * | `molt:build:start` | the Dockerfile is planned | `version`, `stages`, `target`, `jobs` |
 * | `molt:build:warning` | a Dockerfile lint warning | `message`, `file?`, `line?` |
 * | `molt:build:runner` | the RUN runner is chosen | `name`, `limitations` |
 * | `molt:build:done` | the image is written everywhere | `digest`, `durationMs` |
 * | `molt:build:error` | the build failed (the last event; `build()` then rejects with this error) | `message`, `code?`, `durationMs` |
 * | `molt:step:start` | a step starts | `step`, `kind`, `name`, … ({@link StepStartEvent}) |
 * | `molt:step:log` | a RUN printed lines (one output chunk's worth) | `step`, `stream`, `lines`, `partial?` |
 * | `molt:step:cache` | the cache was asked about the step | `step`, `hit`, `key?`, `reason?` (why it missed), `store?` |
 * | `molt:step:done` | a step finished | `step`, `durationMs` |
 * | `molt:step:error` | a step failed (the build fails with this error) | `step`, `durationMs`, `message`, `code?`, `exitCode?`, `argv?` |
 * | `molt:step:canceled` | a step stopped because another failed or the build was aborted | `step`, `durationMs` |
 * | `molt:base:resolved` | `FROM image` resolved to a manifest | `step`, `reference`, `digest` |
 * | `molt:context:transfer` | COPY/ADD read files from the build context | `step`, `files`, `bytes` |
 * | `molt:context:download` | bytes of a remote context downloaded (context-source) | `step`, `url`, `bytes`, `total?` |
 * | `molt:context:extract` | entries of a context tarball unpacked (context-source) | `step`, `entries`, `bytes` |
 * | `molt:context:clone` | a git context's clone starts or ends (context-source) | `step`, `url`, `ref?`, `phase` |
 * | `molt:context:ready` | the context is open (context-source) | `step`, `description` |
 * | `molt:registry:blob-progress` | bytes of a blob moved: layer download (`direction: "pull"`) or push | `step`, `digest`, `transferred`, `total?` |
 * | `molt:registry:blob-done` | a blob downloaded, uploaded, found present or mounted | `step`, `digest`, `size`, `result` |
 * | `molt:registry:retry` | a registry request is retried | `step`, `attempt`, `delayMs`, `reason` |
 * | `molt:snapshot:extract-start` | a layer starts being extracted into a stage root (snapshotter) | `step`, `index`, `digest?`, `compression` |
 * | `molt:snapshot:extract-progress` | entries of that layer extracted so far (snapshotter) | `step`, `index`, `entries`, `bytes` |
 * | `molt:snapshot:extract-done` | the layer is extracted (snapshotter) | `step`, `index`, `entries`, `bytes` |
 * | `molt:snapshot:changes` | a RUN's changes were found | `step`, `mode`, `changes`, `durationMs` |
 * | `molt:layer:planned` | a layer's entries are listed (layer-writer) | `step`, `entries` |
 * | `molt:layer:progress` | a layer is being written (layer-writer) | `step`, `entries`, `uncompressedBytes`, `compressedBytes` |
 * | `molt:layer:written` | a layer was written | `step`, `digest`, `size`, `entries`, … |
 * | `molt:output:pushed` | a manifest was pushed (per destination) | `step`, `reference`, `digest` |
 * | `molt:output:written` | a local output was written | `step`, `kind`, `target`, `digest` |
 * | `molt:oci:archive-blob` | a layer was written into the `--tar-path` tarball (oci) | `step`, `digest`, `size`, `index`, `total` |
 *
 * Order guarantees: a step's `start` comes before any event carrying its id, and exactly one
 * of `done`, `error`, `canceled` ends it. Steps of one stage run in order; stages that do not
 * depend on each other may interleave. A build ends with `molt:build:done` or, when it fails
 * after its options were accepted, `molt:build:error`.
 *
 * @example
 * ```ts
 * await build({
 *   context: ".",
 *   noPush: true,
 *   onProgress: (e) => {
 *     if (e.type === "molt:step:start") console.error(`#${e.step} ${e.name}`);
 *     if (e.type === "molt:registry:blob-progress") console.error(`#${e.step} ${e.transferred}/${e.total}`);
 *   },
 * });
 * ```
 */
export type BuildProgressEvent =
  | { type: "molt:build:start"; version: typeof EVENTS_VERSION; stages: number; target: number; jobs: number }
  | { type: "molt:build:warning"; message: string; file?: string; line?: number }
  | { type: "molt:build:runner"; name: string; limitations: string[] }
  | { type: "molt:build:done"; digest: Digest; durationMs: number }
  | { type: "molt:build:error"; message: string; code?: string; durationMs: number }
  | StepStartEvent
  | {
      type: "molt:step:log";
      step: StepId;
      stream: "stdout" | "stderr";
      /**
       * The lines of one chunk of output, in order, each without its newline (never empty).
       * Since {@link EVENTS_VERSION} 2; version 1 sent one `line` per event.
       */
      lines: string[];
      /**
       * The last entry of `lines` is a piece of a line too long for one event (64 Ki characters):
       * the line goes on in the next `molt:step:log` of this step and stream. Concatenating the
       * pieces gives the line back exactly.
       */
      partial?: boolean;
    }
  | {
      /** A cacheable step met the cache: taken from it (`hit`), or not, with why (`reason`). */
      type: "molt:step:cache";
      step: StepId;
      hit: boolean;
      /** The step's chained cache key. */
      key?: string;
      /** Why the step missed: the input that differs from the nearest entry on its chain. */
      reason?: string;
      /** The store, e.g. `registry host/app/cache`. */
      store?: string;
    }
  | { type: "molt:step:done"; step: StepId; durationMs: number }
  | {
      type: "molt:step:error";
      step: StepId;
      durationMs: number;
      /** The error's message (as the build's rejection carries it). */
      message: string;
      /** The error's `MOLT_…` code, when it has one. */
      code?: string;
      /** A RUN that exited non-zero: its exit status and the process it ran. */
      exitCode?: number;
      argv?: string[];
    }
  | { type: "molt:step:canceled"; step: StepId; durationMs: number }
  | { type: "molt:base:resolved"; step: StepId; reference: string; digest: Digest }
  | { type: "molt:context:transfer"; step: StepId; files: number; bytes: number }
  | {
      type: "molt:snapshot:changes";
      step: StepId;
      mode: "walk" | "overlay";
      changes: number;
      durationMs: number;
    }
  | { type: "molt:output:pushed"; step: StepId; reference: string; digest: Digest }
  | {
      type: "molt:output:written";
      step: StepId;
      kind:
        | "oci-layout"
        | "tarball"
        | "digest-file"
        | "image-name-with-digest-file"
        | "image-name-tag-with-digest-file";
      target: string;
      digest: Digest;
    }
  | PartEvent;

/** The parts' own events (each part's `onProgress` type), as `build()` forwards them: with the step they belong to. */
export type PartEvent =
  | WithStep<RegistryProgressEvent>
  | WithStep<LayerProgressEvent>
  | WithStep<ExtractProgressEvent>
  | WithStep<ContextProgressEvent>
  | WithStep<ArchiveProgressEvent>;

/** A part's event with the build-wide step id added. */
export type WithStep<E> = E extends unknown ? E & { step: StepId } : never;

/** The `type` strings of {@link BuildProgressEvent}. */
export type BuildProgressEventType = BuildProgressEvent["type"];
