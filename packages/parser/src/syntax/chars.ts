/**
 * Character classes shared by the syntax readers (they follow Go's `unicode.IsSpace`). The
 * readers work on UTF-16 code units (`charCodeAt`) so scanning allocates nothing.
 */

/** True for a whitespace code unit (Go's `unicode.IsSpace`). */
export function isSpaceCode(c: number): boolean {
  if (c === 32 || (c >= 9 && c <= 13)) return true;
  if (c < 0x85) return false;
  return (
    c === 0x85 ||
    c === 0xa0 ||
    c === 0x1680 ||
    (c >= 0x2000 && c <= 0x200a) ||
    c === 0x2028 ||
    c === 0x2029 ||
    c === 0x202f ||
    c === 0x205f ||
    c === 0x3000
  );
}

/** True for a whitespace character (Go's `unicode.IsSpace`). */
export function isSpaceChar(ch: string): boolean {
  return isSpaceCode(ch.charCodeAt(0));
}

/** Index of the first non-whitespace character of `s` in `[from, to)` (or `to`). */
export function skipSpace(s: string, from = 0, to = s.length): number {
  let i = from;
  while (i < to && isSpaceCode(s.charCodeAt(i))) i++;
  return i;
}

/** Index just past the last non-whitespace character of `s` in `[from, to)` (or `from`). */
export function trimEndIndex(s: string, from = 0, to = s.length): number {
  let i = to;
  while (i > from && isSpaceCode(s.charCodeAt(i - 1))) i--;
  return i;
}

/** The separators between an instruction's keyword and its arguments (`[\t\v\f\r ]`). */
export function isKeywordSeparator(c: number): boolean {
  return c === 32 || c === 9 || c === 11 || c === 12 || c === 13;
}
