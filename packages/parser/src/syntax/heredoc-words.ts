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

/** True when `s` holds a quote, `$` or `\`: the shell reader is needed to take it apart. */
function needsShellReader(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 39 || c === 34 || c === 36 || c === 92) return true;
  }
  return false;
}

/** The shell reader's word separators (space, tab, newline, carriage return, vertical tab, form feed). */
function isShellSpace(c: number): boolean {
  return c === 32 || (c >= 9 && c <= 13);
}

/** `s` split at shell whitespace, for text {@link needsShellReader} says has nothing special. */
function plainWords(s: string): string[] {
  const out: string[] = [];
  const n = s.length;
  let i = 0;
  for (;;) {
    while (i < n && isShellSpace(s.charCodeAt(i))) i++;
    if (i >= n) return out;
    const start = i;
    while (i < n && !isShellSpace(s.charCodeAt(i))) i++;
    out.push(s.slice(start, i));
  }
}

/** Reads one word as a heredoc announcement, or `undefined` if it is not one. */
export function parseHeredocWord(word: string): HeredocWord | undefined {
  const m = HEREDOC_WORD.exec(word);
  if (!m) return undefined;
  const rest = m[3]!;
  if (rest === "") return undefined;
  if (!needsShellReader(rest)) {
    // Nothing quoted or escaped: the delimiter is the text itself, and it expands.
    const ws = plainWords(rest);
    if (ws.length !== 1) return undefined;
    const h: HeredocWord = { word, name: ws[0]!, chomp: m[2] === "-", expand: true };
    if (m[1]) h.fileDescriptor = Number(m[1]);
    return h;
  }
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
  if (!needsShellReader(line)) words = plainWords(line);
  else {
    try {
      words = expandWords(line, none, { rawQuotes: true, rawEscapes: true });
    } catch {
      return [];
    }
  }
  const out: HeredocWord[] = [];
  for (const w of words) {
    const h = parseHeredocWord(w);
    if (h) out.push(h);
  }
  return out;
}
