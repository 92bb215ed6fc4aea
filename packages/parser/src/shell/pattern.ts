/**
 * Shell patterns (`*`, `?`, `[…]`, `\x`) as used by `${V#p}`, `${V%p}` and `${V/p/r}`.
 * @module
 */

function escapeRegex(ch: string): string {
  return /[\\^$.*+?()[\]{}|/-]/.test(ch) ? `\\${ch}` : ch;
}

/**
 * Converts a shell pattern to a regular-expression source. `*` becomes `.*` (`.*?` when
 * `greedy` is false), `?` any one character, `[…]` a bracket expression (`[!…]` negated),
 * and an escape token quotes the next character.
 */
export function shellPatternToRegexSource(pattern: string, greedy: boolean, escapeToken = "\\"): string {
  let out = "";
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i]!;
    if (ch === escapeToken) {
      i++;
      if (i < pattern.length) out += escapeRegex(pattern[i]!);
      continue;
    }
    if (ch === "*") {
      out += greedy ? "[\\s\\S]*" : "[\\s\\S]*?";
    } else if (ch === "?") {
      out += "[\\s\\S]";
    } else if (ch === "[") {
      const close = findBracketEnd(pattern, i);
      if (close < 0) {
        out += "\\[";
        continue;
      }
      let body = pattern.slice(i + 1, close);
      let negate = false;
      if (body.startsWith("!") || body.startsWith("^")) {
        negate = true;
        body = body.slice(1);
      }
      let cls = "";
      for (let k = 0; k < body.length; k++) {
        const c = body[k]!;
        if (c === escapeToken && k + 1 < body.length) {
          k++;
          cls += `\\${body[k]}`;
        } else if (c === "-" && k > 0 && k < body.length - 1) {
          cls += "-";
        } else {
          cls += /[\\\]^-]/.test(c) ? `\\${c}` : c;
        }
      }
      out += `[${negate ? "^" : ""}${cls}]`;
      i = close;
    } else {
      out += escapeRegex(ch);
    }
  }
  return out;
}

function findBracketEnd(pattern: string, open: number): number {
  let k = open + 1;
  if (pattern[k] === "!" || pattern[k] === "^") k++;
  if (pattern[k] === "]") k++;
  for (; k < pattern.length; k++) {
    if (pattern[k] === "]") return k;
  }
  return -1;
}

function fullMatcher(pattern: string, escapeToken: string): RegExp {
  return new RegExp(`^(?:${shellPatternToRegexSource(pattern, true, escapeToken)})$`, "u");
}

/** `${V#p}` / `${V##p}`: removes the shortest (or longest) prefix of `value` matching `pattern`. */
export function trimPrefix(value: string, pattern: string, longest: boolean, escapeToken = "\\"): string {
  const re = fullMatcher(pattern, escapeToken);
  if (longest) {
    for (let i = value.length; i >= 0; i--) if (re.test(value.slice(0, i))) return value.slice(i);
  } else {
    for (let i = 0; i <= value.length; i++) if (re.test(value.slice(0, i))) return value.slice(i);
  }
  return value;
}

/** `${V%p}` / `${V%%p}`: removes the shortest (or longest) suffix of `value` matching `pattern`. */
export function trimSuffix(value: string, pattern: string, longest: boolean, escapeToken = "\\"): string {
  const re = fullMatcher(pattern, escapeToken);
  if (longest) {
    for (let i = 0; i <= value.length; i++) if (re.test(value.slice(i))) return value.slice(0, i);
  } else {
    for (let i = value.length; i >= 0; i--) if (re.test(value.slice(i))) return value.slice(0, i);
  }
  return value;
}

/** `${V/p/r}` / `${V//p/r}`: replaces the first (or every) longest match of `pattern`. */
export function replacePattern(
  value: string,
  pattern: string,
  replacement: string,
  all: boolean,
  escapeToken = "\\",
): string {
  if (pattern === "") return value;
  const re = new RegExp(shellPatternToRegexSource(pattern, true, escapeToken), all ? "gu" : "u");
  return value.replace(re, (m) => (m === "" ? m : replacement));
}
