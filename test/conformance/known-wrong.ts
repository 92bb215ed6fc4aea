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

const many = (finding: string, cases: string[], match: RegExp, refs?: KnownWrong["refs"]): KnownWrong[] =>
  cases.map((k) => ({ case: k, match, finding, ...(refs ? { refs } : {}) }));

/** Known molt bugs (each also in the findings file). */
export const MOLT_WRONG: KnownWrong[] = [
  ...many(
    "F18 COPY drops a source file's extended attributes and capabilities (unverified against current BuildKit; Docker 20.10 drops them too)",
    ["copy-xattrs", "copy-capabilities"],
    /^~\S+ xattrs: molt=unset ref=/,
    ["buildah"],
  ),
];
