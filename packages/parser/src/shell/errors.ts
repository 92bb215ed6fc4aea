import { MoltError } from "@molt/oci";

/** Stable codes of {@link ShellExpansionError}: one per subclass. */
export type ShellExpansionErrorCode =
  | "MOLT_SHELL_BAD_SUBSTITUTION"
  | "MOLT_SHELL_UNTERMINATED"
  | "MOLT_SHELL_UNSUPPORTED_MODIFIER"
  | "MOLT_SHELL_REQUIRED_VARIABLE"
  | "MOLT_SHELL_TOO_DEEP";

/**
 * A word could not be expanded: bad `${…}` syntax, an unterminated quote or `${`, an
 * unsupported modifier, or a `${V:?message}` whose variable is unset or empty.
 * `offset` is the 0-based index in the word where the problem was found. The family of the
 * expansion errors: each condition is its own subclass with one `code`.
 */
export abstract class ShellExpansionError<
  C extends ShellExpansionErrorCode = ShellExpansionErrorCode,
> extends MoltError<C> {
  /** 0-based offset in the expanded word where the problem was found. */
  readonly offset: number;
  constructor(code: C, message: string, offset: number) {
    super(code, message);
    this.offset = offset;
  }
}

/** A `${…}` has bad syntax (`MOLT_SHELL_BAD_SUBSTITUTION`). */
export class ShellBadSubstitutionError extends ShellExpansionError<"MOLT_SHELL_BAD_SUBSTITUTION"> {
  constructor(message: string, offset: number) {
    super("MOLT_SHELL_BAD_SUBSTITUTION", message, offset);
  }
}

/** A quote or `${` is not closed (`MOLT_SHELL_UNTERMINATED`). */
export class ShellUnterminatedError extends ShellExpansionError<"MOLT_SHELL_UNTERMINATED"> {
  constructor(message: string, offset: number) {
    super("MOLT_SHELL_UNTERMINATED", message, offset);
  }
}

/** A `${…}` uses a modifier molt does not support (`MOLT_SHELL_UNSUPPORTED_MODIFIER`). */
export class ShellUnsupportedModifierError extends ShellExpansionError<"MOLT_SHELL_UNSUPPORTED_MODIFIER"> {
  constructor(message: string, offset: number) {
    super("MOLT_SHELL_UNSUPPORTED_MODIFIER", message, offset);
  }
}

/** A `${V:?message}` (or `${V?message}`) names a variable that is unset or empty (`MOLT_SHELL_REQUIRED_VARIABLE`). */
export class ShellRequiredVariableError extends ShellExpansionError<"MOLT_SHELL_REQUIRED_VARIABLE"> {
  constructor(message: string, offset: number) {
    super("MOLT_SHELL_REQUIRED_VARIABLE", message, offset);
  }
}

/** `${…}` is nested too deep (`MOLT_SHELL_TOO_DEEP`). */
export class ShellTooDeepError extends ShellExpansionError<"MOLT_SHELL_TOO_DEEP"> {
  constructor(message: string, offset: number) {
    super("MOLT_SHELL_TOO_DEEP", message, offset);
  }
}
