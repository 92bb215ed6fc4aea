import { DEFAULT_PLATFORM } from "@molt/oci";
import type { Dockerfile, Stage } from "./dockerfile.js";
import { expandInstruction } from "./instructions/expand.js";
import type { FromInstruction, Instruction } from "./instructions/types.js";
import { type PlanOptions, planBuild } from "./plan.js";
import { isPredefinedArg, PLATFORM_ARGS, predefinedArgs } from "./predefined-args.js";

/** A stage with every expansion the builder would do applied, and the variables in effect at its end. */
export interface ExpandedStage {
  index: number;
  name?: string;
  /** FROM with image and platform expanded from the meta ARGs. */
  from: FromInstruction;
  /** The instructions, each expanded with the ARG/ENV values in effect where it stands. */
  instructions: Instruction[];
  /** ENV set by the Dockerfile (inherited from a base stage, not from a base image) at the end of the stage. */
  env: Record<string, string>;
  /** ARG values in effect at the end of the stage (`undefined`: declared without a value). */
  args: Record<string, string | undefined>;
}

/**
 * Walks every stage in order, tracking ARG and ENV the way the builder does, and returns each
 * stage with its instructions expanded:
 * - meta ARGs (before the first FROM) are visible in FROM lines only, and inside a stage once
 *   re-declared by `ARG NAME`;
 * - `ARG NAME[=default]` takes the caller's build arg, else its default, else the meta ARG value;
 *   predefined platform args (`ARG TARGETARCH`) take their automatic values;
 * - ENV wins over ARG of the same name; a stage based on another stage (`FROM build`) starts
 *   with that stage's ARG and ENV.
 * The environment of base images is not known here (no I/O): references to it expand to empty.
 *
 * @example
 * ```ts
 * const [stage] = expandStages(parseDockerfile("FROM a\nARG V=1\nWORKDIR /v$V\n"));
 * stage.instructions[1]; // { kind: "WORKDIR", path: "/v1", … }
 * ```
 */
export function expandStages(df: Dockerfile, options: PlanOptions = {}): ExpandedStage[] {
  const buildArgs = options.buildArgs ?? {};
  const platform = options.platform ?? DEFAULT_PLATFORM;
  const plan = planBuild(df, options);
  const predefined = predefinedArgs(
    platform,
    options.buildPlatform ?? platform,
    plan.target.stage.name ?? "default",
  );
  const meta = plan.metaArgs;
  const metaLookup = (name: string) => (name in meta ? meta[name] : predefined[name]);
  const done: ExpandedStage[] = [];
  for (const stage of df.stages) {
    done.push(expandStage(df, stage, done, metaLookup, meta, buildArgs, predefined));
  }
  return done;
}

function expandStage(
  df: Dockerfile,
  stage: Stage,
  done: ExpandedStage[],
  metaLookup: (name: string) => string | undefined,
  meta: Record<string, string | undefined>,
  buildArgs: Record<string, string>,
  predefined: Record<string, string>,
): ExpandedStage {
  const from = expandInstruction(stage.from, metaLookup);
  const base = df.stages.find(
    (s) => s.index < stage.index && s.name !== undefined && s.name === from.image.toLowerCase(),
  );
  const inherited = base ? done[base.index] : undefined;
  const env = new Map<string, string>(Object.entries(inherited?.env ?? {}));
  const args = new Map<string, string | undefined>(Object.entries(inherited?.args ?? {}));
  const lookup = (name: string): string | undefined => (env.has(name) ? env.get(name) : args.get(name));
  const instructions = stage.instructions.map((instr) => {
    const expanded = expandInstruction(instr, lookup);
    if (expanded.kind === "ENV") for (const p of expanded.pairs) env.set(p.key, p.value);
    if (expanded.kind === "ARG") {
      for (const a of expanded.args) {
        let value: string | undefined;
        if (Object.hasOwn(buildArgs, a.key)) value = buildArgs[a.key];
        else if (a.default !== undefined) value = a.default;
        else if (a.key in meta) value = meta[a.key];
        else if (PLATFORM_ARGS.includes(a.key) || a.key === "TARGETSTAGE") value = predefined[a.key];
        else if (isPredefinedArg(a.key)) value = undefined;
        args.set(a.key, value);
      }
    }
    return expanded;
  });
  const out: ExpandedStage = {
    index: stage.index,
    from,
    instructions,
    env: Object.fromEntries(env),
    args: Object.fromEntries(args),
  };
  if (stage.name !== undefined) out.name = stage.name;
  return out;
}
