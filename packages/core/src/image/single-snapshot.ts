import { mkdtemp, rm } from "node:fs/promises";
import { join } from "node:path";
import { writeLayer } from "@molt/layer-writer";
import { extract } from "@molt/snapshotter";
import createDebug from "debug";
import { openLayer } from "../outputs/layer-bytes.js";
import type { ImageState, LayerRef } from "../stage/image-state.js";
import { parentsFromRoot } from "../stage/parent-dirs.js";
import type { BuildSession } from "../stage/session.js";
import { materialise } from "../stage/stage-fs.js";
import { layerMediaType } from "./assemble.js";

const debug = createDebug("molt:build");

/**
 * kaniko's `--single-snapshot`: the layers a stage added become one layer holding the stage's
 * net change over its base (files written then deleted within the stage leave nothing; a file
 * changed by several steps appears once). The base layers are materialised, the stage's own
 * layers extracted over them, and the walk snapshotter reports the difference. History keeps
 * one entry per instruction; all but the last layer-making one are marked `empty_layer`.
 */
export async function squashStageLayers(
  session: BuildSession,
  state: ImageState,
  baseCount: number,
  stage: number,
): Promise<void> {
  const own = state.layers.slice(baseCount);
  if (own.length <= 1) return;
  await session.events.run(
    {
      kind: "output",
      name: `squashing ${own.length} layers of stage ${stage} into one (--single-snapshot)`,
      stage,
    },
    (step) => squash(session, state, baseCount, own, step),
  );
}

async function squash(
  session: BuildSession,
  state: ImageState,
  baseCount: number,
  own: LayerRef[],
  stepId: number,
): Promise<void> {
  const { options, store, client } = session;
  const signal = options.signal;
  const signalOpt = signal ? { signal } : {};
  const dir = await mkdtemp(join(session.work, "single-snapshot-"));
  try {
    const from = { client, store, ...signalOpt };
    const fs = await materialise(dir, state.layers.slice(0, baseCount), from, {
      mode: "walk",
      factory: options.snapshotter,
      extractor: options.extractor,
      ...(options.ignorePaths ? { ignore: options.ignorePaths } : {}),
    });
    try {
      const step = await fs.snapshotter.begin(signalOpt);
      await (options.extractor ?? extract)(
        own.map((l) => ({
          open: () => openLayer(l, from),
          digest: l.descriptor.digest,
          mediaType: l.descriptor.mediaType,
        })),
        step.rootfs,
        signalOpt,
      );
      const changes = await step.finish(signalOpt);
      const result = await writeLayer(changes, store, {
        compression: options.compression ?? "gzip",
        ...(options.compressionLevel !== undefined ? { level: options.compressionLevel } : {}),
        parents: parentsFromRoot(step.rootfs),
        detectHardlinks: true,
        ...(session.sourceDateEpoch !== undefined ? { sourceDateEpoch: session.sourceDateEpoch } : {}),
        ...signalOpt,
        ...(session.events.listening ? { onProgress: session.events.forStep(stepId) } : {}),
      });
      const layer: LayerRef = {
        descriptor: {
          mediaType: layerMediaType(result.mediaType, state.format),
          digest: result.digest,
          size: result.size,
        },
        diffId: result.diffId,
        origin: { kind: "store" },
      };
      state.layers = [...state.layers.slice(0, baseCount), layer];
      markSquashedHistory(state, own.length);
      debug("single snapshot: %d layers became %s", own.length, result.digest);
    } finally {
      await fs.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Of the last `count` layer-making history entries, all but the last become `empty_layer`. */
function markSquashedHistory(state: ImageState, count: number): void {
  const history = state.config.history ?? [];
  let seen = 0;
  for (let i = history.length - 1; i >= 0 && seen < count; i--) {
    const h = history[i]!;
    if (h.empty_layer) continue;
    if (seen > 0) h.empty_layer = true;
    seen++;
  }
}
