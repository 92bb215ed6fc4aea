import type { Change } from "@molt/oci";
import type { Instruction } from "@molt/parser";
import { throwIfAborted } from "../errors.js";
import { prepareRunMounts } from "../mounts/prepare.js";
import {
  DEFAULT_SHELL,
  heredocRunArgv,
  hostToContainerId,
  type IdMap,
  RunFailedError,
  resolveUser,
  runEnvironment,
} from "../runner/index.js";
import type { StageRuntime } from "../stage/runtime.js";

type RunInstruction = Extract<Instruction, { kind: "RUN" }>;

/**
 * RUN: executes the command in the stage's root through the build's runner, then asks the
 * snapshotter what changed. A command that changes nothing adds no layer (an `empty_layer`
 * history entry instead); a non-zero exit fails the build naming the code.
 */
export async function applyRun(instr: RunInstruction, rt: StageRuntime): Promise<void> {
  const loc = instr.location;
  const signal = rt.options.signal;
  const fs = await rt.filesystem();
  const runner = await rt.runner();
  const cfg = rt.state.config.config ?? {};
  const command = heredocRunArgv(instr, cfg.Shell && cfg.Shell.length > 0 ? cfg.Shell : DEFAULT_SHELL);
  const step = await fs.snapshotter.begin(signal ? { signal } : {});
  let finished = false;
  const mounted =
    instr.mounts.length > 0
      ? await prepareRunMounts(instr.mounts, rt, loc, runner.idMap).catch(async (e) => {
          await step.abort().catch(() => {});
          throw e;
        })
      : undefined;
  try {
    const user = await resolveUser(step.rootfs, cfg.User);
    const env = [...runEnvironment(cfg.Env ?? [], rt.args, user), ...(mounted?.env ?? [])];
    const outcome = await runner.run({
      ...(mounted && mounted.mounts.length > 0 ? { mounts: mounted.mounts } : {}),
      ...(mounted && Object.keys(mounted.secretEnv).length > 0 ? { secretEnv: mounted.secretEnv } : {}),
      rootfs: step.rootfs,
      argv: command.argv,
      ...(command.transientFiles.length > 0 ? { transientFiles: command.transientFiles } : {}),
      env,
      cwd: cfg.WorkingDir || "/",
      user,
      ...(instr.network ? { network: instr.network } : {}),
      ...(signal ? { signal } : {}),
      onOutput: (stream, line, partial) =>
        rt.options.onProgress?.({
          type: "log",
          stage: rt.stage,
          step: rt.step,
          stream,
          line,
          ...(partial ? { partial } : {}),
        }),
    });
    throwIfAborted(signal);
    if (outcome.exitCode !== 0) {
      throw new RunFailedError(instr.original, outcome.exitCode, loc, outcome.signal);
    }
    const changes = toImageIds(await step.finish(signal ? { signal } : {}), runner.idMap);
    finished = true;
    if (changes.length === 0) rt.addEmptyHistory(instr.original);
    else await rt.addLayer(changes, instr.original, { inRoot: true });
  } finally {
    await mounted?.release();
    if (!finished) await step.abort().catch(() => {});
  }
}

/**
 * A rootless runner stores container ids shifted on disk (container root is the invoking user);
 * layers must carry the ids the container saw. Unmapped ids (nobody inside) become 65534.
 */
function toImageIds(changes: Change[], idMap: IdMap | undefined): Change[] {
  if (!idMap) return changes;
  return changes.map((c) => {
    if (c.kind !== "add") return c;
    const uid = hostToContainerId(idMap, "uid", c.entry.uid) ?? 65534;
    const gid = hostToContainerId(idMap, "gid", c.entry.gid) ?? 65534;
    return { kind: "add", entry: { ...c.entry, uid, gid } };
  });
}
