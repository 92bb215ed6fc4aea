/**
 * Every `code` an error of `@molt/parser` can carry (`test/e2e/error-codes.test.ts` checks the
 * source against this list both ways).
 */
export const PARSER_ERROR_CODES = [
  "MOLT_DOCKERFILE_ARGUMENTS",
  "MOLT_DOCKERFILE_CYCLE",
  "MOLT_DOCKERFILE_DIRECTIVE",
  "MOLT_DOCKERFILE_EXPANSION",
  "MOLT_DOCKERFILE_FLAG",
  "MOLT_DOCKERFILE_HEREDOC",
  "MOLT_DOCKERFILE_NO_STAGE",
  "MOLT_DOCKERFILE_STAGE",
  "MOLT_DOCKERFILE_SYNTAX",
  "MOLT_DOCKERFILE_UNKNOWN_INSTRUCTION",
  "MOLT_DOCKERFILE_UNKNOWN_TARGET",
  "MOLT_SHELL_BAD_SUBSTITUTION",
  "MOLT_SHELL_REQUIRED_VARIABLE",
  "MOLT_SHELL_TOO_DEEP",
  "MOLT_SHELL_UNSUPPORTED_MODIFIER",
  "MOLT_SHELL_UNTERMINATED",
] as const;

/** A `code` of an error thrown by `@molt/parser`: switch on it. */
export type ParserErrorCode = (typeof PARSER_ERROR_CODES)[number];
