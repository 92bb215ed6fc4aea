/**
 * Cases where molt is wrong today, each pointing at its finding in
 * /work/notes/conformance-findings.md (F-numbers; "issue 14 #N" = the bug list, fixed by
 * conform-fix). A known-wrong entry that is no longer seen fails the suite: remove it with the
 * fix, and add an expected difference if an old reference then disagrees with current BuildKit.
 */

/** One known molt bug seen by a case. */
export interface KnownWrong {
  case: string;
  /** Only against these references (default both). */
  refs?: ("buildah" | "docker")[];
  match: RegExp;
  finding: string;
}

/** Known molt bugs (each also in the findings file). Empty: F2, F7, F13, F17 and F18 were the last. */
export const MOLT_WRONG: KnownWrong[] = [];
