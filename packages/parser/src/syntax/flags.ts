import { isSpaceChar } from "./chars.js";

/** A flag word found at the start of an instruction's arguments. */
export interface RawFlag {
  /** The word after quote and escape removal. */
  text: string;
  /** Offsets of the word as written in the scanned string. */
  start: number;
  end: number;
}

/**
 * Reads the `--flag` words at the start of `line` (BuildKit's rules: a word starting with `--`
 * is a flag, quotes and `\` escapes work inside it, a lone `--` ends the flags) and returns them
 * with the offset where the remaining arguments start. A word without quotes or escapes is
 * sliced from the line rather than rebuilt character by character.
 */
export function extractFlags(line: string): { flags: RawFlag[]; rest: number } {
  const flags: RawFlag[] = [];
  const n = line.length;
  let pos = 0;
  for (;;) {
    while (pos < n && isSpaceChar(line[pos]!)) pos++;
    if (pos >= n) return { flags, rest: n };
    if (line[pos] !== "-" || pos + 1 === n || line[pos + 1] !== "-") return { flags, rest: pos };
    const start = pos;
    // `decoded` holds the word once a quote or escape made it differ from the source slice.
    let decoded: string | undefined;
    let blankOK = false;
    let quote = "";
    for (; pos < n; pos++) {
      const ch = line[pos]!;
      if (quote === "") {
        if (isSpaceChar(ch)) break;
        if (ch === "'" || ch === '"') {
          decoded ??= line.slice(start, pos);
          quote = ch;
          blankOK = true;
          continue;
        }
        if (ch === "\\") {
          decoded ??= line.slice(start, pos);
          if (pos + 1 < n) decoded += line[++pos]!;
          continue;
        }
        if (decoded !== undefined) decoded += ch;
        continue;
      }
      if (ch === quote) {
        quote = "";
        continue;
      }
      if (ch === "\\") {
        if (pos + 1 === n) {
          quote = "";
          continue;
        }
        decoded! += line[++pos]!;
        continue;
      }
      decoded! += ch;
    }
    const text = decoded ?? line.slice(start, pos);
    if (text === "--") return { flags, rest: pos };
    if (blankOK || text.length > 0) flags.push({ text, start, end: pos });
  }
}
