import type {
  ArchiveProgressEvent,
  BuildProgressEventType,
  ContextProgressEvent,
  ExtractProgressEvent,
  LayerProgressEvent,
  RegistryProgressEvent,
} from "../src/index.js";

/** The parts' events, as `@molt/core` exports them (typecheck fails if one is not exported). */
export type PartEventType = (
  | ArchiveProgressEvent
  | ContextProgressEvent
  | ExtractProgressEvent
  | LayerProgressEvent
  | RegistryProgressEvent
)["type"];

/**
 * Every member of the event union, by its `type`, with whether it is about a step (carries `step`). `satisfies` makes the compiler (pnpm
 * typecheck) refuse this list when a member is missing from it or when it names one the union
 * does not have, so the checks that use it cover the whole union as it is typed.
 */
export const EVENT_TYPES = {
  "molt:build:start": "build",
  "molt:build:warning": "build",
  "molt:build:runner": "build",
  "molt:build:done": "build",
  "molt:build:error": "build",
  "molt:step:start": "step",
  "molt:step:log": "step",
  "molt:step:cache": "step",
  "molt:step:done": "step",
  "molt:step:error": "step",
  "molt:step:canceled": "step",
  "molt:base:resolved": "step",
  "molt:context:transfer": "step",
  "molt:context:download": "step",
  "molt:context:extract": "step",
  "molt:context:clone": "step",
  "molt:context:ready": "step",
  "molt:registry:blob-progress": "step",
  "molt:registry:blob-done": "step",
  "molt:registry:retry": "step",
  "molt:snapshot:extract-start": "step",
  "molt:snapshot:extract-progress": "step",
  "molt:snapshot:extract-done": "step",
  "molt:snapshot:changes": "step",
  "molt:layer:planned": "step",
  "molt:layer:progress": "step",
  "molt:layer:written": "step",
  "molt:output:pushed": "step",
  "molt:output:written": "step",
  "molt:oci:archive-blob": "step",
} as const satisfies Record<BuildProgressEventType, "build" | "step">;
