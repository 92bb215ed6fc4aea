import type { SourceLocation } from "./location.js";

/** The build-check rules molt reports (BuildKit's rule names). */
export type WarningRule =
  | "MaintainerDeprecated"
  | "LegacyKeyValueFormat"
  | "NoEmptyContinuation"
  | "StageNameCasing"
  | "FromAsCasing"
  | "JSONArgsRecommended"
  | "UndefinedArgInFrom"
  | "ConsistentInstructionCasing"
  | "ReservedStageName"
  | "MultipleInstructionsDisallowed"
  | "WorkdirRelativePath"
  | "RedundantTargetPlatform"
  | "SecretsUsedInArgOrEnv";

/** A problem that does not stop the build. Part of the parse result; the library never prints. */
export interface Warning {
  rule: WarningRule;
  message: string;
  location: SourceLocation;
}

/** Collects warnings, dropping rules skipped by a `# check=skip=…` directive. */
export class WarningSink {
  readonly warnings: Warning[] = [];
  constructor(private readonly skip: readonly string[] | "all" = []) {}
  add(rule: WarningRule, message: string, location: SourceLocation): void {
    if (this.skip === "all") return;
    if (this.skip.some((s) => s.toLowerCase() === rule.toLowerCase())) return;
    this.warnings.push({ rule, message, location });
  }
}
