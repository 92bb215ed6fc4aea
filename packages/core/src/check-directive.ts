import type { Dockerfile } from "@molt/parser";
import { BuildStepError, CheckFailedError } from "./errors.js";

/**
 * `# check=error=true`: a build whose Dockerfile has check warnings (those left after
 * `skip=`) fails, as BuildKit's frontend does ("lint violation found for rules: …"). Throws a
 * {@link BuildStepError} `MOLT_CHECK_FAILED` at the first warning's location, naming every rule.
 */
export function failOnCheckWarnings(dockerfile: Dockerfile): void {
  if (!dockerfile.directives.check?.error || dockerfile.warnings.length === 0) return;
  const rules = [...new Set(dockerfile.warnings.map((w) => w.rule))];
  const first = dockerfile.warnings[0]!;
  throw new CheckFailedError(
    `lint violation found for rules: ${rules.join(", ")} (# check=error=true): ${first.rule}: ${first.message}`,
    { file: first.location.file, line: first.location.line, column: first.location.column },
  );
}
