import { isSpaceChar } from "./chars.js";

/**
 * Splits text into whitespace-separated words, keeping quotes and escapes as written (BuildKit's
 * `parseWords`, used for the `key=value` lists of ENV, LABEL and ARG). An escape outside quotes
 * protects the next character (even a quote); inside double quotes it protects the next
 * character; inside single quotes it is literal. An escape at the very end is dropped.
 */
export function splitRawWords(
  text: string,
  escapeToken: string,
): { word: string; start: number; end: number }[] {
  const words: { word: string; start: number; end: number }[] = [];
  const n = text.length;
  let i = 0;
  for (;;) {
    while (i < n && isSpaceChar(text[i]!)) i++;
    if (i >= n) return words;
    const start = i;
    let quote = "";
    let droppedEscape = false;
    for (; i < n; i++) {
      const ch = text[i]!;
      if (quote === "") {
        if (isSpaceChar(ch)) break;
        if (ch === "'" || ch === '"') quote = ch;
        else if (ch === escapeToken) {
          if (i + 1 === n) droppedEscape = true;
          else i++;
        }
        continue;
      }
      if (ch === quote) quote = "";
      else if (ch === escapeToken && quote !== "'") {
        if (i + 1 === n) {
          droppedEscape = true;
          quote = "";
        } else i++;
      }
    }
    const end = i;
    const word = text.slice(start, droppedEscape ? end - 1 : end);
    if (word !== "") words.push({ word, start, end });
  }
}
