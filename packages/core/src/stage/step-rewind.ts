import type { ImageConfig } from "@molt/oci";
import type { StageRuntime } from "./runtime.js";

/**
 * What a stage looked like before one of its steps: enough to run the stage again from that
 * step (when a cached layer taken by that step turns out to be corrupt once its bytes are read).
 */
export interface StepSnapshot {
  config: ImageConfig;
  history: number;
  layers: number;
  chainKey: StageRuntime["state"]["chainKey"];
  chainSlot: StageRuntime["state"]["chainSlot"];
  chainBase: string;
  args: Map<string, string>;
  declaredArgs: Set<string>;
  cmdSetInStage: boolean;
  reports: number;
}

/** The stage's state before a step (history by length: entries are only ever appended). */
export function snapshotStep(rt: StageRuntime, reports: number): StepSnapshot {
  const { history, ...config } = rt.state.config;
  return {
    config: structuredClone(config),
    history: history?.length ?? 0,
    layers: rt.state.layers.length,
    chainKey: rt.state.chainKey,
    chainSlot: rt.state.chainSlot,
    chainBase: rt.state.chainBase,
    args: new Map(rt.args),
    declaredArgs: new Set(rt.declaredArgs),
    cmdSetInStage: rt.cmdSetInStage,
    reports,
  };
}

/** Puts the stage back as it was before the step (the history array itself is kept: the runtime holds it). */
export function restoreStep(rt: StageRuntime, s: StepSnapshot): void {
  const history = rt.state.config.history ?? [];
  history.length = Math.min(history.length, s.history);
  rt.state.config = { ...structuredClone(s.config), history };
  rt.state.layers.length = s.layers;
  rt.state.chainKey = s.chainKey;
  rt.state.chainSlot = s.chainSlot;
  rt.state.chainBase = s.chainBase;
  rt.args.clear();
  for (const [k, v] of s.args) rt.args.set(k, v);
  rt.declaredArgs.clear();
  for (const k of s.declaredArgs) rt.declaredArgs.add(k);
  rt.cmdSetInStage = s.cmdSetInStage;
}
