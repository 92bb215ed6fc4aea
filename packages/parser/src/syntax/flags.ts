import { isSpaceCode } from "./chars.js";

const DASH = 45;
const BACKSLASH = 92;
const SQUOTE = 39;
const DQUOTE = 34;

/**
 * Reads the `--flag` words at the start of `line[from, to)` (BuildKit's rules: a word starting
 * with `--` is a flag, quotes and `\` escapes work inside it, a lone `--` ends the flags). For
 * each flag, `out` receives three entries: the word after quote and escape removal, and the
 * start and end offsets of the word as written. Returns the offset where the remaining
 * arguments start. A word without quotes or escapes is sliced from the line rather than
 * rebuilt character by character.
 */
export function extractFlags(line: string, from: number, to: number, out: (string | number)[]): number {
  let pos = from;
  for (;;) {
    while (pos < to && isSpaceCode(line.charCodeAt(pos))) pos++;
    if (pos >= to) return to;
    if (line.charCodeAt(pos) !== DASH || pos + 1 === to || line.charCodeAt(pos + 1) !== DASH) return pos;
    const start = pos;
    // `decoded` holds the word once a quote or escape made it differ from the source slice.
    let decoded: string | undefined;
    let blankOK = false;
    let quote = 0;
    for (; pos < to; pos++) {
      const c = line.charCodeAt(pos);
      if (quote === 0) {
        if (isSpaceCode(c)) break;
        if (c === SQUOTE || c === DQUOTE) {
          decoded ??= line.slice(start, pos);
          quote = c;
          blankOK = true;
          continue;
        }
        if (c === BACKSLASH) {
          decoded ??= line.slice(start, pos);
          if (pos + 1 < to) decoded += line[++pos]!;
          continue;
        }
        if (decoded !== undefined) decoded += line[pos]!;
        continue;
      }
      if (c === quote) {
        quote = 0;
        continue;
      }
      if (c === BACKSLASH) {
        if (pos + 1 === to) {
          quote = 0;
          continue;
        }
        decoded! += line[++pos]!;
        continue;
      }
      decoded! += line[pos]!;
    }
    const text = decoded ?? line.slice(start, pos);
    if (text === "--") return pos;
    if (blankOK || text.length > 0) out.push(text, start, pos);
  }
}
