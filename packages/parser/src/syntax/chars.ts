/** Character classes shared by the syntax readers (they follow Go's `unicode.IsSpace`). */

const SPACE = /[\t\n\v\f\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]/;

/** True for a whitespace character (Go's `unicode.IsSpace`). */
export function isSpaceChar(ch: string): boolean {
  const c = ch.charCodeAt(0);
  if (c === 32 || (c >= 9 && c <= 13)) return true;
  return c > 127 && SPACE.test(ch);
}

/** Index of the first non-whitespace character of `s` at or after `from` (or `s.length`). */
export function skipSpace(s: string, from = 0): number {
  let i = from;
  while (i < s.length && isSpaceChar(s[i]!)) i++;
  return i;
}

/** Index just past the last non-whitespace character of `s` (or 0). */
export function trimEndIndex(s: string): number {
  let i = s.length;
  while (i > 0 && isSpaceChar(s[i - 1]!)) i--;
  return i;
}

/** The separators between an instruction's keyword and its arguments (`[\t\v\f\r ]`). */
export function isKeywordSeparator(ch: string): boolean {
  return ch === " " || ch === "\t" || ch === "\v" || ch === "\f" || ch === "\r";
}
