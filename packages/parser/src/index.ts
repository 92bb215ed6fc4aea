/**
 * The Dockerfile front end: text → lossless syntax tree with positions → typed instructions
 * grouped in stages; shell-word expansion; the stage graph and target selection. Pure: no I/O.
 *
 * @example
 * ```ts
 * import { parseDockerfile, planBuild, expandInstruction } from "@molt/parser";
 * const df = parseDockerfile(text, { file: "Dockerfile" });
 * const plan = planBuild(df, { target: "app", buildArgs: { VERSION: "1.0" } });
 * ```
 * @packageDocumentation
 */
export {
  type Directives,
  type Dockerfile,
  type ParseOptions,
  parseDockerfile,
  type Stage,
} from "./dockerfile.js";
export { PARSER_ERROR_CODES, type ParserErrorCode } from "./error-codes.js";
export {
  DockerfileArgumentsError,
  DockerfileCycleError,
  DockerfileDirectiveError,
  DockerfileError,
  type DockerfileErrorCode,
  DockerfileExpansionError,
  DockerfileFlagError,
  DockerfileHeredocError,
  DockerfileNoStageError,
  DockerfileStageError,
  DockerfileSyntaxError,
  DockerfileUnknownInstructionError,
  DockerfileUnknownTargetError,
  renderExcerpt,
} from "./errors.js";
export { expandInstruction } from "./instructions/expand.js";
export { FLAG_SPECS, type FlagType } from "./instructions/flag-spec.js";
export * from "./instructions/types.js";
export { isValidChmod, parseDuration, parseSize } from "./instructions/values.js";
export { makeLocation, type SourceLocation, type SourcePosition } from "./location.js";
export {
  type BuildPlan,
  type PlannedStage,
  type PlanOptions,
  planBuild,
  type StageDependency,
} from "./plan.js";
export { isPredefinedArg, PLATFORM_ARGS, PROXY_ARGS, predefinedArgs } from "./predefined-args.js";
export { type ExpandedStage, expandStages } from "./scope.js";
export {
  ShellBadSubstitutionError,
  ShellExpansionError,
  type ShellExpansionErrorCode,
  ShellRequiredVariableError,
  ShellTooDeepError,
  ShellUnsupportedModifierError,
  ShellUnterminatedError,
} from "./shell/errors.js";
export {
  type ExpansionResult,
  expandWord,
  expandWordDetailed,
  expandWords,
  MAX_NESTING,
  type ShellWordOptions,
  type VariableLookup,
} from "./shell/expand.js";
export { type CheckDirective, KNOWN_DIRECTIVES } from "./syntax/directives.js";
export { type ParseSyntaxOptions, parseSyntax } from "./syntax/parse-syntax.js";
export * from "./syntax/tree.js";
export type { Warning, WarningRule } from "./warnings.js";
