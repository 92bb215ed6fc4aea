import { isSpaceCode } from "./chars.js";

const SQUOTE = 39;
const DQUOTE = 34;

/**
 * Splits text into whitespace-separated words, keeping quotes and escapes as written (BuildKit's
 * `parseWords`, used for the `key=value` lists of ENV, LABEL and ARG). An escape outside quotes
 * protects the next character (even a quote); inside double quotes it protects the next
 * character; inside single quotes it is literal. An escape at the very end is dropped. The
 * words go to `out` (emptied first; a caller may pass a list it reuses).
 */
export function splitRawWords(text: string, escapeToken: string, out: string[] = []): string[] {
  const words = out;
  words.length = 0;
  const escapeCode = escapeToken.charCodeAt(0);
  const n = text.length;
  let i = 0;
  for (;;) {
    while (i < n && isSpaceCode(text.charCodeAt(i))) i++;
    if (i >= n) return words;
    const start = i;
    let quote = 0;
    let droppedEscape = false;
    for (; i < n; i++) {
      const c = text.charCodeAt(i);
      if (quote === 0) {
        if (isSpaceCode(c)) break;
        if (c === SQUOTE || c === DQUOTE) quote = c;
        else if (c === escapeCode) {
          if (i + 1 === n) droppedEscape = true;
          else i++;
        }
        continue;
      }
      if (c === quote) quote = 0;
      else if (c === escapeCode && quote !== SQUOTE) {
        if (i + 1 === n) {
          droppedEscape = true;
          quote = 0;
        } else i++;
      }
    }
    const end = droppedEscape ? i - 1 : i;
    if (end > start) words.push(text.slice(start, end));
  }
}
