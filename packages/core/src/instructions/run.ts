import type { Change } from "@molt/oci";
import type { Instruction } from "@molt/parser";
import { sourceInputs } from "../cache/content-digest.js";
import { hiddenInput, type KeyInput, shownInput } from "../cache/key.js";
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
import { selectSources } from "./copy-selection.js";
import { checkRunCommand } from "./run-checks.js";
import { LogBatcher } from "./run-log.js";
import type { InstructionStep, PlanView } from "./step.js";

type RunInstruction = Extract<Instruction, { kind: "RUN" }>;

/**
 * RUN's key inputs (the expanded command is the stage runner's `instruction` input): every
 * environment variable it sees (image ENV and the declared ARGs in scope, by keyed hash, never
 * readable), USER, WORKDIR, SHELL, `--network`, `--security`, each `--mount` spec, the platform.
 * Mount content (bind sources) is appended by the mounts part under `mount:` names.
 */
export async function runInputs(instr: RunInstruction, view: PlanView): Promise<KeyInput[]> {
  const cfg = view.state.config.config ?? {};
  const inputs: KeyInput[] = [];
  for (const e of cfg.Env ?? []) {
    const eq = e.indexOf("=");
    const name = eq < 0 ? e : e.slice(0, eq);
    inputs.push(hiddenInput(`env:${name}`, eq < 0 ? "" : e.slice(eq + 1), view.salt));
  }
  const env = new Set((cfg.Env ?? []).map((e) => (e.includes("=") ? e.slice(0, e.indexOf("=")) : e)));
  for (const [name, value] of [...view.args].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (env.has(name) || !view.declaredArgs.has(name)) continue; // ENV wins; undeclared proxy args change nothing
    inputs.push(hiddenInput(`arg:${name}`, value, view.salt));
  }
  inputs.push(shownInput("user", cfg.User ?? ""));
  inputs.push(shownInput("workdir", cfg.WorkingDir ?? ""));
  inputs.push(shownInput("shell", JSON.stringify(cfg.Shell ?? DEFAULT_SHELL)));
  inputs.push(shownInput("network", instr.network ?? "default"));
  inputs.push(shownInput("security", instr.security ?? "sandbox"));
  for (const [i, m] of instr.mounts.entries()) {
    const { raw, ...spec } = m;
    inputs.push({ ...hiddenInput(`mount:${i}`, JSON.stringify(spec), view.salt), display: raw });
    inputs.push(...(await mountSourceInputs(m, i, view, instr.location)));
  }
  const c = view.state.config;
  inputs.push(shownInput("platform", [c.os, c.architecture, c.variant].filter(Boolean).join("/")));
  return inputs;
}

/**
 * What a mount brings into the step beyond its spec: a `type=bind` mount's source content (from
 * the context: the selected files' digests after `.dockerignore`; from a stage or an image: its
 * key, with the source path in the spec). Cache, tmpfs, secret and ssh mounts contribute their
 * spec only (BuildKit's rule: a secret's value never enters a key).
 */
export async function mountSourceInputs(
  m: RunInstruction["mounts"][number],
  i: number,
  view: PlanView,
  location: RunInstruction["location"],
): Promise<KeyInput[]> {
  if (m.type !== "bind") return [];
  if (m.from !== undefined && m.from !== "") {
    const from = await view.fromInput(m.from, location);
    return [{ ...from, name: `mount:${i}:from:${m.from}` }];
  }
  const { selected } = await selectSources(view.context, [m.source ?? "."]);
  const got = await sourceInputs(
    view.context,
    selected.map((s) => s.entry),
    view.options.signal ? { signal: view.options.signal } : {},
  );
  return got.map((g) => ({ ...g, name: `mount:${i}:${g.name}` }));
}

/** RUN as a step: changes files, cached (unless `--cache-run-layers=false`). */
export const runStep: InstructionStep<RunInstruction> = {
  changesFiles: true,
  cache: "run",
  inputs: runInputs,
  apply: (instr, rt) => applyRun(instr, rt),
};

/**
 * RUN: executes the command in the stage's root through the build's runner, then asks the
 * snapshotter what changed. A command that changes nothing adds no layer (an `empty_layer`
 * history entry instead); a non-zero exit fails the build naming the code. In a stage only read
 * as files, the last RUNs ({@link StageRuntime.straightRunsFrom}) run straight in the root and
 * record nothing.
 */
export async function applyRun(instr: RunInstruction, rt: StageRuntime): Promise<void> {
  const loc = instr.location;
  const signal = rt.options.signal;
  // The runner is chosen (its probes run) while the root is materialised: both are a stage's
  // fixed cost, paid side by side.
  const choosing = rt.runner();
  choosing.catch(() => {}); // awaited below; a failing root must not leave it unhandled
  const fs = await rt.filesystem();
  const runner = await choosing;
  const cfg = rt.state.config.config ?? {};
  const shell = cfg.Shell && cfg.Shell.length > 0 ? cfg.Shell : DEFAULT_SHELL;
  const command = checkRunCommand(heredocRunArgv(instr, shell), shell, instr);
  // A stage only read as files runs its last RUNs straight in the root: nothing reads a layer
  // of theirs, so the step is neither snapshotted nor diffed (see stage/files-only.ts).
  const straight = rt.straightRunsFrom !== undefined && rt.step >= rt.straightRunsFrom;
  const step = straight ? undefined : await fs.snapshotter.begin(signal ? { signal } : {});
  const rootfs = step?.rootfs ?? fs.root;
  let finished = false;
  const mounted =
    instr.mounts.length > 0
      ? await prepareRunMounts(instr.mounts, rt, loc, runner.idMap).catch(async (e) => {
          await step?.abort().catch(() => {});
          throw e;
        })
      : undefined;
  const logs = new LogBatcher(rt.stepId, (e) => rt.events.emit(e));
  try {
    const user = await resolveUser(rootfs, cfg.User);
    const env = [...runEnvironment(cfg.Env ?? [], rt.args, user), ...(mounted?.env ?? [])];
    const outcome = await runner.run({
      ...(mounted && mounted.mounts.length > 0 ? { mounts: mounted.mounts } : {}),
      ...(mounted && Object.keys(mounted.secretEnv).length > 0 ? { secretEnv: mounted.secretEnv } : {}),
      rootfs,
      ...(step?.mountNamespacePid !== undefined ? { mountNamespacePid: step.mountNamespacePid } : {}),
      argv: command.argv,
      ...(command.transientFiles.length > 0 ? { transientFiles: command.transientFiles } : {}),
      env,
      cwd: cfg.WorkingDir || "/",
      user,
      ...(instr.network ? { network: instr.network } : {}),
      ...(signal ? { signal } : {}),
      // One event per output chunk, not per line (a step may print 100,000).
      onOutput: (stream, line, partial) => logs.add(stream, line, partial),
    });
    logs.flush();
    throwIfAborted(signal);
    if (outcome.exitCode !== 0) {
      throw new RunFailedError(instr.original, outcome.exitCode, loc, outcome.signal, command.argv);
    }
    if (!step) {
      finished = true;
      return;
    }
    const t0 = performance.now();
    const changes = toImageIds(await step.finish(signal ? { signal } : {}), runner.idMap);
    rt.events.emit({
      type: "molt:snapshot:changes",
      step: rt.stepId,
      mode: fs.snapshotter.mode,
      changes: changes.length,
      durationMs: Math.round(performance.now() - t0),
    });
    finished = true;
    if (changes.length === 0) rt.addEmptyHistory(instr.original);
    else await rt.addLayer(changes, instr.original, { inRoot: true });
  } finally {
    await mounted?.release();
    if (!finished) await step?.abort().catch(() => {});
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
