import type { ContextSource } from "@molt/context-source";
import type { Instruction } from "@molt/parser";
import type { KeyInput, KeySalt } from "../cache/key.js";
import type { ErrorLocation } from "../errors.js";
import type { BuildOptions } from "../options.js";
import type { ImageState } from "../stage/image-state.js";
import type { StageRuntime } from "../stage/runtime.js";

/** Which `--cache-*-layers` switch governs a cacheable step. */
export type CacheClass = "run" | "copy" | "workdir";

/**
 * What an instruction's plan face may read: the image config so far, the ARGs in scope, the build
 * context, and the keys of `--from` sources. Never the root filesystem: a plan is computed before
 * anything is downloaded or unpacked.
 */
export interface PlanView {
  readonly stage: number;
  readonly state: ImageState;
  /** ARG values in scope (proxy args included even when undeclared). */
  readonly args: ReadonlyMap<string, string>;
  /** Names of the ARGs declared in this stage (or the stage it is based on). */
  readonly declaredArgs: ReadonlySet<string>;
  /** The build's key salt: hidden inputs are keyed with it (`hiddenInput(name, value, view.salt)`). */
  readonly salt: KeySalt;
  readonly context: ContextSource;
  readonly options: BuildOptions;
  /** The key input for `--from=<ref>`: an earlier stage's final key, or an image's manifest digest. */
  fromInput(ref: string, location: ErrorLocation): Promise<KeyInput>;
  /** The content digest of an ADD URL without `--checksum` (downloads it once; apply reuses the file). */
  urlDigest(url: string, location: ErrorLocation): Promise<string>;
}

/**
 * One instruction kind, in the shape of kaniko's `pkg/commands`: what it is (does it change
 * files, can its result be cached), what its cache key is made of (computed without the root
 * filesystem), and the work.
 */
export interface InstructionStep<I extends Instruction = Instruction> {
  /** True when the step can add a layer. */
  readonly changesFiles: boolean;
  /**
   * Set when the step's result (a layer, or none) can be taken from the cache; unset for
   * metadata-only steps, which re-run every build (cheap) but still take part in the key chain.
   */
  readonly cache?: CacheClass;
  /**
   * The step's own key inputs beyond its parent key and its expanded instruction (which the
   * stage runner adds). Must not touch the root filesystem.
   */
  inputs?(instr: I, view: PlanView): KeyInput[] | Promise<KeyInput[]>;
  /** Config changes made whether or not the step's files come from the cache (WORKDIR's path). */
  configure?(instr: I, rt: StageRuntime): void;
  /** The work: files, layers, history, config. Runs only when the step is not taken from the cache. */
  apply(instr: I, rt: StageRuntime): void | Promise<void>;
}

/** A metadata-only step: no files, not cached, re-run every build. */
export function metadataStep<I extends Instruction>(
  apply: (instr: I, rt: StageRuntime) => void,
): InstructionStep<I> {
  return { changesFiles: false, apply };
}
