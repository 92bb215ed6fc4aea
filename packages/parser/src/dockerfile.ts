import {
  DockerfileDirectiveError,
  DockerfileExpansionError,
  DockerfileNoStageError,
  DockerfileStageError,
} from "./errors.js";
import { buildInstruction } from "./instructions/build.js";
import type { ArgInstruction, FromInstruction, Instruction } from "./instructions/types.js";
import { isPredefinedArg } from "./predefined-args.js";
import { ShellExpansionError } from "./shell/errors.js";
import { expandWordDetailed } from "./shell/expand.js";
import { type CheckDirective, parseCheckDirective } from "./syntax/directives.js";
import { readSyntax } from "./syntax/parse-syntax.js";
import { StringTable } from "./syntax/strings.js";
import type { InstructionNode, SyntaxTree } from "./syntax/tree.js";
import { type Warning, WarningSink } from "./warnings.js";

/** One build stage: its FROM and the instructions after it. */
export interface Stage {
  /** 0-based position among the stages. */
  index: number;
  /** Lower-cased name from `FROM … AS name`. */
  name?: string;
  from: FromInstruction;
  /** The instructions after FROM, in order. */
  instructions: Instruction[];
}

/** The parser directives in effect. */
export interface Directives {
  /** `# syntax=` value (the frontend image BuildKit would use; molt records it only). */
  syntax?: string;
  /** The escape character (`\` unless `# escape=` says otherwise). */
  escape: string;
  /** `# check=` settings. */
  check?: CheckDirective;
}

/** A parsed Dockerfile: syntax tree, directives, typed stages and warnings. */
export interface Dockerfile {
  file: string;
  /** The lossless syntax tree. */
  syntax: SyntaxTree;
  directives: Directives;
  /** ARG instructions before the first FROM (visible to FROM lines). */
  metaArgs: ArgInstruction[];
  stages: Stage[];
  warnings: Warning[];
}

/** Options of {@link parseDockerfile}. */
export interface ParseOptions {
  /** File name used in locations and errors (default `Dockerfile`). */
  file?: string;
}

function instructionNodes(tree: SyntaxTree): InstructionNode[] {
  return tree.nodes.filter((n): n is InstructionNode => n.type === "instruction");
}

// The loops over every node below are indexed: parseDockerfile runs once per file, often before
// the optimizing compiler has seen it, and an unoptimized for-of allocates a result per step.

/**
 * Parses a Dockerfile: directives, syntax tree, typed instructions grouped in stages, and the
 * warnings BuildKit's checks would give. Pure: no I/O.
 *
 * @example
 * ```ts
 * const df = parseDockerfile("FROM alpine AS base\nRUN echo hi\n");
 * df.stages[0].name; // "base"
 * df.stages[0].instructions[0]; // { kind: "RUN", form: "shell", command: "echo hi", … }
 * ```
 * @throws DockerfileError (with file, line and column) for anything BuildKit rejects.
 */
export function parseDockerfile(text: string, options: ParseOptions = {}): Dockerfile {
  const strings = new StringTable();
  const tree = readSyntax(text, options, strings);
  const file = tree.file;
  const directives: Directives = { escape: tree.escapeToken };
  for (const n of tree.nodes) {
    if (n.type !== "directive") continue;
    if (n.name === "syntax") directives.syntax = n.value;
    if (n.name === "check") {
      const c = parseCheckDirective(n.value);
      if (typeof c === "string") throw new DockerfileDirectiveError(c, n.location);
      directives.check = c;
    }
  }
  const sink = new WarningSink(directives.check?.skip ?? []);
  const nodes = instructionNodes(tree);

  for (let k = 0; k < nodes.length; k++) {
    for (const line of nodes[k]!.emptyContinuationLines) {
      sink.add(
        "NoEmptyContinuation",
        "Empty continuation line found; empty continuation lines will become errors",
        {
          file,
          line,
          column: 1,
          endLine: line,
          endColumn: 1,
        },
      );
    }
  }
  let upper = 0;
  let lower = 0;
  for (let k = 0; k < nodes.length; k++) {
    const n = nodes[k]!;
    if (n.keyword === n.name) upper++;
    else if (n.keyword === n.keyword.toLowerCase()) lower++;
  }
  const majorityUpper = upper >= lower;
  for (let k = 0; k < nodes.length; k++) {
    const n = nodes[k]!;
    const ok = majorityUpper ? n.keyword === n.name : n.keyword === n.keyword.toLowerCase();
    if (!ok) {
      sink.add(
        "ConsistentInstructionCasing",
        `Command '${n.keyword}' should match the case of the command majority (${majorityUpper ? "uppercase" : "lowercase"})`,
        n.keywordLocation,
      );
    }
  }

  const ctx = { escapeToken: tree.escapeToken, warnings: sink, strings };
  const metaArgs: ArgInstruction[] = [];
  const stages: Stage[] = [];
  const names = new Map<string, Stage>();
  for (let k = 0; k < nodes.length; k++) {
    const instr = buildInstruction(nodes[k]!, ctx);
    if (instr.kind === "FROM") {
      const stage: Stage = { index: stages.length, from: instr, instructions: [] };
      if (instr.stageName !== undefined) {
        if (names.has(instr.stageName)) {
          throw new DockerfileStageError(`duplicate stage name "${instr.stageName}"`, instr.location);
        }
        stage.name = instr.stageName;
        names.set(instr.stageName, stage);
      }
      stages.push(stage);
      continue;
    }
    const current = stages[stages.length - 1];
    if (current) current.instructions.push(instr);
    else if (instr.kind === "ARG") metaArgs.push(instr);
    else {
      throw new DockerfileNoStageError(
        `${instr.kind} before the first FROM: only ARG may come before FROM`,
        instr.location,
      );
    }
  }
  if (stages.length === 0) {
    const last = tree.nodes[tree.nodes.length - 1];
    const at = last
      ? { ...last.location, line: last.location.endLine, column: 1 }
      : { file, line: 1, column: 1, endLine: 1, endColumn: 1 };
    throw new DockerfileNoStageError("the Dockerfile has no FROM instruction", at);
  }

  checkStages(stages, metaArgs, sink);
  sink.warnings.sort((a, b) => a.location.line - b.location.line || a.location.column - b.location.column);
  return { file, syntax: tree, directives, metaArgs, stages, warnings: sink.warnings };
}

function checkStages(stages: Stage[], metaArgs: ArgInstruction[], sink: WarningSink): void {
  const declared = new Set(metaArgs.flatMap((a) => a.args.map((d) => d.key)));
  const lookup = (name: string) => (declared.has(name) || isPredefinedArg(name) ? "" : undefined);
  for (const stage of stages) {
    const from = stage.from;
    for (const word of [from.image, from.platform]) {
      if (word === undefined || !word.includes("$")) continue;
      try {
        const r = expandWordDetailed(word, lookup, { escapeToken: from.escapeToken ?? "\\" });
        for (const name of r.unset) {
          sink.add("UndefinedArgInFrom", `FROM argument '${name}' is not declared`, from.location);
        }
      } catch (e) {
        if (!(e instanceof ShellExpansionError)) throw e;
        throw new DockerfileExpansionError(`FROM: ${e.message}`, from.location, {
          cause: e,
        });
      }
    }
    const seen = new Map<string, Instruction[]>();
    let absoluteWorkdir = false;
    for (let k = 0; k < stage.instructions.length; k++) {
      const instr = stage.instructions[k]!;
      if (instr.kind === "CMD" || instr.kind === "ENTRYPOINT" || instr.kind === "HEALTHCHECK") {
        const list = seen.get(instr.kind);
        if (list) list.push(instr);
        else seen.set(instr.kind, [instr]);
      }
      if (instr.kind === "WORKDIR" && !absoluteWorkdir) {
        if (instr.path.startsWith("/") || instr.path.includes("$") || /^[a-zA-Z]:[\\/]/.test(instr.path)) {
          absoluteWorkdir = true;
        } else {
          sink.add(
            "WorkdirRelativePath",
            `Relative workdir "${instr.path}" can have unexpected results if the base image changes`,
            instr.location,
          );
        }
      }
    }
    for (const [kind, list] of seen) {
      for (const instr of list.slice(0, -1)) {
        sink.add(
          "MultipleInstructionsDisallowed",
          `Multiple ${kind} instructions should not be used in the same stage because only the last one will be used`,
          instr.location,
        );
      }
    }
  }
}
