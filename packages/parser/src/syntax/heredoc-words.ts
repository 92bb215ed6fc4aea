import { expandWords } from "../shell/expand.js";

/** A heredoc announced on an instruction line (`<<EOF`, `<<-'EOF'`, `3<<EOF`). */
export interface HeredocWord {
  word: string;
  name: string;
  chomp: boolean;
  expand: boolean;
  fileDescriptor?: number;
}

const HEREDOC_WORD = /^(\d*)<<(-?)([^<]*)$/;
const none = (): undefined => undefined;

/** Reads one word as a heredoc announcement, or `undefined` if it is not one. */
export function parseHeredocWord(word: string): HeredocWord | undefined {
  const m = HEREDOC_WORD.exec(word);
  if (!m) return undefined;
  const rest = m[3]!;
  if (rest === "") return undefined;
  let plain: string[];
  let raw: string[];
  try {
    plain = expandWords(rest, none);
    raw = expandWords(rest, none, { rawQuotes: true });
  } catch {
    return undefined;
  }
  if (plain.length !== 1 || raw.length !== 1) return undefined;
  const name = plain[0]!;
  const quotes = (s: string) => s.split("'").length + s.split('"').length - 2;
  const h: HeredocWord = { word, name, chomp: m[2] === "-", expand: quotes(name) === quotes(raw[0]!) };
  if (m[1]) h.fileDescriptor = Number(m[1]);
  return h;
}

/** Finds the heredoc announcements on an instruction line, in order. */
export function findHeredocWords(line: string): HeredocWord[] {
  if (!line.includes("<<")) return [];
  let words: string[];
  try {
    words = expandWords(line, none, { rawQuotes: true, rawEscapes: true });
  } catch {
    return [];
  }
  const out: HeredocWord[] = [];
  for (const w of words) {
    const h = parseHeredocWord(w);
    if (h) out.push(h);
  }
  return out;
}
