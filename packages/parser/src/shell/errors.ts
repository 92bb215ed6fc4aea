import { MoltError } from "@molt/oci";
import type { ParserErrorCode } from "../error-codes.js";

/** Stable codes of {@link ShellExpansionError}. */
export type ShellExpansionErrorCode =
  | "MOLT_SHELL_BAD_SUBSTITUTION"
  | "MOLT_SHELL_UNTERMINATED"
  | "MOLT_SHELL_UNSUPPORTED_MODIFIER"
  | "MOLT_SHELL_REQUIRED_VARIABLE"
  | "MOLT_SHELL_TOO_DEEP";

/**
 * A word could not be expanded: bad `${…}` syntax, an unterminated quote or `${`, an
 * unsupported modifier, or a `${V:?message}` whose variable is unset or empty.
 * `offset` is the 0-based index in the word where the problem was found.
 */
export class ShellExpansionError extends MoltError<ParserErrorCode> {
  /** 0-based offset in the expanded word where the problem was found. */
  readonly offset: number;
  constructor(code: ShellExpansionErrorCode, message: string, offset: number) {
    super(code, message);
    this.offset = offset;
  }
}
