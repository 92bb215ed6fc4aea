import { DEFAULT_PLATFORM, type Platform } from "@molt/oci";
import type { Dockerfile, Stage } from "./dockerfile.js";
import {
  DockerfileCycleError,
  DockerfileExpansionError,
  DockerfileStageError,
  DockerfileUnknownTargetError,
} from "./errors.js";
import { expandInstruction } from "./instructions/expand.js";
import { suggest } from "./instructions/suggest.js";
import type { SourceLocation } from "./location.js";
import { predefinedArgs } from "./predefined-args.js";

/** Options of {@link planBuild}. */
export interface PlanOptions {
  /** Name (case-insensitive) or index of the stage to build; default the last stage. */
  target?: string;
  /** Build arguments given by the caller (`--build-arg K=V`). */
  buildArgs?: Record<string, string>;
  /** Platform built for (default linux/amd64), for the predefined `TARGET*` arguments. */
  platform?: Platform;
  /** Platform the build runs on (default: `platform`), for the predefined `BUILD*` arguments. */
  buildPlatform?: Platform;
}

/** Why a stage depends on another. */
export interface StageDependency {
  /** Index of the stage depended on. */
  stage: number;
  /** `FROM <stage>`, `COPY --from=<stage>` or `RUN --mount=from=<stage>`. */
  via: "from" | "copy" | "mount";
  location: SourceLocation;
}

/** A stage the target needs, with its FROM resolved. */
export interface PlannedStage {
  stage: Stage;
  /** FROM image after meta-ARG expansion (`scratch` included) when not based on a stage. */
  baseImage?: string;
  /** Index of the earlier stage this one is based on (`FROM <stage name>`). */
  baseStage?: number;
  /** `FROM --platform` after expansion. */
  platform?: string;
  /** Indexes of the stages this one needs (FROM, `COPY --from`, `RUN --mount from=`), sorted. */
  dependsOn: number[];
  /** Each dependency with the instruction that makes it. */
  dependencies: StageDependency[];
  /** Images named by `COPY --from` / `--mount from=` that are not stages. */
  externalImages: string[];
}

/** The stages to build, in an order where every stage comes after what it depends on. */
export interface BuildPlan {
  stages: PlannedStage[];
  target: PlannedStage;
  /** Values of the meta ARGs (before the first FROM) after build args were applied. */
  metaArgs: Record<string, string | undefined>;
}

function findStage(df: Dockerfile, ref: string): Stage | undefined {
  const name = ref.toLowerCase();
  return df.stages.find((s) => s.name === name);
}

/** Resolves a `--from` value: a stage index (digits), a stage name (any position), or else an image. */
function resolveFrom(df: Dockerfile, ref: string, location: SourceLocation): Stage | string {
  if (/^\d+$/.test(ref)) {
    const stage = df.stages[Number(ref)];
    if (!stage) {
      throw new DockerfileStageError(
        `invalid stage index ${ref}: the Dockerfile has ${df.stages.length} stage(s)`,
        location,
      );
    }
    return stage;
  }
  return findStage(df, ref) ?? ref;
}

/**
 * Plans a build: expands every FROM with the meta ARGs (build args override their defaults,
 * predefined platform args are visible), links stages through `FROM <stage>`, `COPY --from` and
 * `RUN --mount from=`, and returns only the stages the target needs, dependencies first.
 *
 * @example
 * ```ts
 * const plan = planBuild(parseDockerfile(text), { target: "test", buildArgs: { VERSION: "1.2" } });
 * for (const s of plan.stages) console.log(s.stage.index, s.baseImage ?? `stage ${s.baseStage}`);
 * ```
 * @throws DockerfileError for an unknown target, a dependency cycle, or bad FROM expansion.
 */
export function planBuild(df: Dockerfile, options: PlanOptions = {}): BuildPlan {
  const buildArgs = options.buildArgs ?? {};
  const platform = options.platform ?? DEFAULT_PLATFORM;
  const target = selectTarget(df, options.target);
  const predefined = predefinedArgs(
    platform,
    options.buildPlatform ?? platform,
    target.name ?? String(target.index),
  );
  const meta = new Map<string, string | undefined>();
  const lookup = (name: string): string | undefined => {
    if (meta.has(name)) return meta.get(name);
    return predefined[name];
  };
  for (const arg of df.metaArgs) {
    const expanded = expandInstruction(arg, lookup);
    arg.args.forEach((decl, k) => {
      const key = expanded.args[k]!.key;
      const given = Object.hasOwn(buildArgs, decl.key) ? buildArgs[decl.key] : undefined;
      // `ARG TARGETARCH` without a value takes the predefined value, as BuildKit does.
      meta.set(key, given ?? expanded.args[k]!.default ?? predefined[key]);
    });
  }

  const planned: PlannedStage[] = df.stages.map((stage) => {
    const from = expandInstruction(stage.from, lookup);
    if (from.image === "") {
      throw new DockerfileExpansionError(
        `base name (${stage.from.image}) should not be blank`,
        stage.from.location,
      );
    }
    const p: PlannedStage = { stage, dependsOn: [], dependencies: [], externalImages: [] };
    if (from.platform !== undefined) p.platform = from.platform;
    // Like BuildKit, FROM only sees stages declared before it: anything else is an image name.
    const base = findStage(df, from.image);
    if (base && base.index < stage.index) {
      p.baseStage = base.index;
      p.dependencies.push({ stage: base.index, via: "from", location: stage.from.location });
    } else {
      p.baseImage = from.image;
    }
    const addRef = (ref: string, via: "copy" | "mount", location: SourceLocation) => {
      const r = resolveFrom(df, ref, location);
      if (typeof r === "string") {
        if (!p.externalImages.includes(r)) p.externalImages.push(r);
      } else if (r.index === stage.index) {
        throw new DockerfileCycleError(`circular dependency detected on stage: ${ref}`, location);
      } else {
        p.dependencies.push({ stage: r.index, via, location });
      }
    };
    for (const instr of stage.instructions) {
      if (instr.kind === "COPY" && instr.from !== undefined) addRef(instr.from, "copy", instr.location);
      if (instr.kind === "RUN") {
        for (const m of instr.mounts) {
          if ((m.type === "bind" || m.type === "cache") && m.from !== undefined && m.from !== "") {
            addRef(m.from, "mount", instr.location);
          }
        }
      }
    }
    p.dependsOn = [...new Set(p.dependencies.map((d) => d.stage))].sort((a, b) => a - b);
    return p;
  });

  // Depth-first from the target: post-order gives dependencies first; a grey node seen again is a cycle.
  const state = new Map<number, "visiting" | "done">();
  const order: PlannedStage[] = [];
  const visit = (index: number, via?: StageDependency) => {
    const s = state.get(index);
    if (s === "done") return;
    const p = planned[index]!;
    if (s === "visiting") {
      throw new DockerfileCycleError(
        `circular dependency detected on stage: ${p.stage.name ?? `stage-${index}`}`,
        via?.location ?? p.stage.from.location,
      );
    }
    state.set(index, "visiting");
    for (const d of p.dependencies) visit(d.stage, d);
    state.set(index, "done");
    order.push(p);
  };
  // Like BuildKit, a cycle anywhere is an error, even among stages the target does not need.
  for (const p of planned) visit(p.stage.index);
  order.length = 0;
  state.clear();
  visit(target.index);
  return { stages: order, target: planned[target.index]!, metaArgs: Object.fromEntries(meta) };
}

function selectTarget(df: Dockerfile, target: string | undefined): Stage {
  if (target === undefined || target === "") return df.stages[df.stages.length - 1]!;
  const stage = findStage(df, target) ?? (/^\d+$/.test(target) ? df.stages[Number(target)] : undefined);
  if (stage) return stage;
  const names = df.stages.flatMap((s) => (s.name ? [s.name] : []));
  const hint = suggest(target, names);
  const first = df.stages[0]!.from.location;
  throw new DockerfileUnknownTargetError(
    `target stage "${target}" could not be found${hint ? ` (did you mean ${hint}?)` : ""}`,
    first,
  );
}
