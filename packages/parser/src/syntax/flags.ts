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
 * with the offset where the remaining arguments start.
 */
export function extractFlags(line: string): { flags: RawFlag[]; rest: number } {
  const flags: RawFlag[] = [];
  const IN_SPACES = 0;
  const IN_WORD = 1;
  const IN_QUOTE = 2;
  let phase = IN_SPACES;
  let word = "";
  let wordStart = 0;
  let quote = "";
  let blankOK = false;
  const n = line.length;
  for (let pos = 0; pos <= n; pos++) {
    const ch = pos < n ? line[pos]! : "";
    if (phase === IN_SPACES) {
      if (pos === n) break;
      if (isSpaceChar(ch)) continue;
      if (ch !== "-" || pos + 1 === n || line[pos + 1] !== "-") return { flags, rest: pos };
      phase = IN_WORD;
      wordStart = pos;
    }
    if (pos === n) {
      if (word !== "--" && (blankOK || word.length > 0)) flags.push({ text: word, start: wordStart, end: n });
      return { flags, rest: n };
    }
    if (phase === IN_WORD) {
      if (isSpaceChar(ch)) {
        phase = IN_SPACES;
        if (word === "--") return { flags, rest: pos };
        if (blankOK || word.length > 0) flags.push({ text: word, start: wordStart, end: pos });
        word = "";
        blankOK = false;
        continue;
      }
      if (ch === "'" || ch === '"') {
        quote = ch;
        blankOK = true;
        phase = IN_QUOTE;
        continue;
      }
      if (ch === "\\") {
        if (pos + 1 === n) continue;
        pos++;
        word += line[pos]!;
        continue;
      }
      word += ch;
      continue;
    }
    // IN_QUOTE
    if (ch === quote) {
      phase = IN_WORD;
      continue;
    }
    if (ch === "\\") {
      if (pos + 1 === n) {
        phase = IN_WORD;
        continue;
      }
      pos++;
      word += line[pos]!;
      continue;
    }
    word += ch;
  }
  return { flags, rest: n };
}
