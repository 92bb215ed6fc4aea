import { isSpaceChar } from "./chars.js";

/**
 * Splits text into whitespace-separated words, keeping quotes and escapes as written (BuildKit's
 * `parseWords`, used for the `key=value` lists of ENV, LABEL and ARG). An escape outside quotes
 * protects the next character (even a quote); inside double quotes it protects the next
 * character; inside single quotes it is literal.
 */
export function splitRawWords(
  text: string,
  escapeToken: string,
): { word: string; start: number; end: number }[] {
  const words: { word: string; start: number; end: number }[] = [];
  let word = "";
  let start = -1;
  let quote = "";
  let blankOK = false;
  const n = text.length;
  let i = 0;
  const push = (end: number) => {
    if (blankOK || word.length > 0) words.push({ word, start, end });
    word = "";
    blankOK = false;
    start = -1;
  };
  while (i < n) {
    const ch = text[i]!;
    if (start < 0) {
      if (isSpaceChar(ch)) {
        i++;
        continue;
      }
      start = i;
    }
    if (quote === "") {
      if (isSpaceChar(ch)) {
        push(i);
        i++;
        continue;
      }
      if (ch === "'" || ch === '"') {
        quote = ch;
        blankOK = true;
        word += ch;
        i++;
        continue;
      }
      if (ch === escapeToken) {
        if (i + 1 === n) {
          i++;
          continue;
        }
        word += ch + text[i + 1]!;
        i += 2;
        continue;
      }
      word += ch;
      i++;
      continue;
    }
    if (ch === quote) {
      quote = "";
      word += ch;
      i++;
      continue;
    }
    if (ch === escapeToken && quote !== "'") {
      if (i + 1 === n) {
        quote = "";
        i++;
        continue;
      }
      word += ch + text[i + 1]!;
      i += 2;
      continue;
    }
    word += ch;
    i++;
  }
  if (start >= 0) push(n);
  return words;
}
