import type { ContextSource } from "@molt/context-source";
import type { Instruction, PlannedStage } from "@molt/parser";
import { xattrToolsAvailable } from "@molt/snapshotter";
import { selectSources } from "../instructions/copy-selection.js";
import { contextReadsOf } from "./context-reads.js";

/** A source that expansion could change, or that names more than one path: not walked ahead. */
const NOT_PLAIN = /[$\\*?[]/;

/**
 * The context directories that the keys of a build's first steps will walk, as far as the
 * Dockerfile tells before anything is expanded: each `COPY` from the context (no `--from`) in a
 * stage that starts at once (based on an image, not a stage), each plain source (no variable,
 * escape or wildcard), in the order written. A guess: what the keys then walk is what counts.
 */
export function copySourcesAhead(stages: readonly PlannedStage[], jobs: number): string[] {
  const out: string[] = [];
  let started = 0;
  for (const p of stages) {
    if (p.baseStage !== undefined) continue;
    // Only the stages the scheduler starts first (it starts them in plan order).
    if (started++ >= jobs) break;
    for (const instr of p.stage.instructions) {
      if (!isContextCopy(instr)) continue;
      for (const s of instr.sources) if (!NOT_PLAIN.test(s) && !out.includes(s)) out.push(s);
    }
  }
  return out;
}

function isContextCopy(instr: Instruction): instr is Extract<Instruction, { kind: "COPY" }> {
  return instr.kind === "COPY" && (instr.from === undefined || instr.from === "");
}

/**
 * Walks the directories that `sources` name in `context` (a symlink followed as a COPY
 * follows it), one after another, into the build's shared context reads (see
 * {@link ContextReads.prefetch}): the keys of those COPY steps then take the walks instead of
 * making them once the base image is resolved. Nothing happens without shared reads; a source
 * that is missing or not a directory is left to the step. Never rejects.
 *
 * The `getfattr` probe those keys make (copy-capabilities.ts, for a file the digest memo does
 * not vouch for) is started first, and the helper they then read capabilities with
 * ({@link ContextReads.startXattrReader}): those processes (3-9 ms of a warm build's main
 * thread each, and the wait for the probe) then start beside the walk instead of in the keys.
 */
export async function walkContextAhead(
  context: ContextSource,
  sources: readonly string[],
  signal?: AbortSignal,
): Promise<void> {
  const reads = contextReadsOf(context);
  if (!reads || sources.length === 0) return;
  const probe = xattrToolsAvailable().catch(() => false);
  reads.startXattrReader();
  for (const source of sources) {
    try {
      signal?.throwIfAborted();
      const { selected } = await selectSources(context, [source]);
      for (const { entry } of selected)
        if (entry.type === "directory") await reads.prefetch(context, entry.path, signal);
    } catch {
      // The step looks again and reports what it finds.
    }
  }
  await probe;
}
