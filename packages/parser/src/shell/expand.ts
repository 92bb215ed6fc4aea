import {
  ShellBadSubstitutionError,
  ShellExpansionError,
  ShellRequiredVariableError,
  ShellTooDeepError,
  ShellUnsupportedModifierError,
  ShellUnterminatedError,
} from "./errors.js";
import { replacePattern, trimPrefix, trimSuffix } from "./pattern.js";

/** Looks a variable up: its value, or `undefined` when it is not set. */
export type VariableLookup = (name: string) => string | undefined;

/** How a word is read. The defaults match the way a Dockerfile instruction is expanded. */
export interface ShellWordOptions {
  /** The escape character: `\` (default) or a backtick (the `escape` parser directive). */
  escapeToken?: string;
  /** Leave references to unset variables as written (`$X`, `${X:-y}`) instead of expanding them. */
  skipUnset?: boolean;
  /** Keep quote characters in the result. */
  rawQuotes?: boolean;
  /** Keep escape characters in the result. */
  rawEscapes?: boolean;
}

/** The outcome of expanding a word, with the variables it referred to. */
export interface ExpansionResult {
  /** The word after quote removal and expansion. */
  value: string;
  /** The same text split into words at unquoted whitespace (and whitespace produced by unquoted expansions). */
  words: string[];
  /** Names of every variable referenced, in first-use order. */
  used: string[];
  /** Names referenced while unset (a subset of `used`). */
  unset: string[];
}

const EOF = "";

function isSpace(ch: string): boolean {
  return ch === " " || ch === "\t" || ch === "\n" || ch === "\r" || ch === "\v" || ch === "\f";
}

function isSpecialParam(ch: string): boolean {
  return (
    ch === "@" ||
    ch === "*" ||
    ch === "#" ||
    ch === "?" ||
    ch === "-" ||
    ch === "$" ||
    ch === "!" ||
    ch === "0"
  );
}

function isDigit(ch: string): boolean {
  return ch >= "0" && ch <= "9";
}

const NAME_CHAR = /^[\p{L}\p{Nd}_]$/u;
function isNameChar(ch: string): boolean {
  if (ch.length === 0) return false;
  const c = ch.charCodeAt(0);
  if (c < 128) return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95;
  return NAME_CHAR.test(ch);
}

/** Accumulates the words of a text, splitting only at whitespace that is not quoted or escaped. */
class WordCollector {
  words: string[] = [];
  word = "";
  inWord = false;
  addChar(ch: string): void {
    if (isSpace(ch)) {
      if (this.inWord && this.word.length > 0) {
        this.words.push(this.word);
        this.word = "";
        this.inWord = false;
      }
    } else {
      this.addRawChar(ch);
    }
  }
  addRawChar(ch: string): void {
    this.word += ch;
    this.inWord = true;
  }
  addString(s: string): void {
    for (const ch of s) this.addChar(ch);
  }
  addRawString(s: string): void {
    this.word += s;
    this.inWord = true;
  }
  finish(): string[] {
    if (this.word.length > 0) {
      this.words.push(this.word);
      this.word = "";
    }
    return this.words;
  }
}

/** How deep `${a:-${b:-…}}` may nest. */
export const MAX_NESTING = 200;

class Lexer {
  private pos = 0;
  private readonly escape: string;
  readonly used = new Set<string>();
  readonly unset = new Set<string>();

  constructor(
    private readonly src: string,
    private readonly lookup: VariableLookup,
    private readonly opts: ShellWordOptions,
  ) {
    this.escape = opts.escapeToken ?? "\\";
  }

  private peek(): string {
    const ch = this.src.codePointAt(this.pos);
    return ch === undefined ? EOF : String.fromCodePoint(ch);
  }

  private next(): string {
    const ch = this.peek();
    this.pos += ch.length;
    return ch;
  }

  private get(name: string): string | undefined {
    this.used.add(name);
    const v = this.lookup(name);
    if (v === undefined) this.unset.add(name);
    return v;
  }

  /** Reads up to `stop` (consumed) or the end; `stop === EOF` reads everything. */
  run(stop: string, rawEscapes: boolean): { text: string; words: string[] } {
    let text = "";
    const words = new WordCollector();
    while (this.pos < this.src.length) {
      const ch = this.peek();
      if (stop !== EOF && ch === stop) {
        this.next();
        return { text, words: words.finish() };
      }
      if (ch === "'" || ch === '"' || ch === "$") {
        const part = ch === "'" ? this.singleQuote() : ch === '"' ? this.doubleQuote() : this.dollar();
        text += part;
        if (ch === "$") words.addString(part);
        else words.addRawString(part);
        continue;
      }
      let c = this.next();
      if (c === this.escape) {
        if (rawEscapes) {
          words.addRawChar(c);
          text += c;
        }
        c = this.next();
        if (c === EOF) break;
        words.addRawChar(c);
      } else {
        words.addChar(c);
      }
      text += c;
    }
    if (stop !== EOF) {
      throw new ShellUnterminatedError(
        stop === "}"
          ? "syntax error: missing '}'"
          : `unexpected end of statement while looking for matching ${stop}`,
        this.pos,
      );
    }
    return { text, words: words.finish() };
  }

  private singleQuote(): string {
    const start = this.pos;
    this.next();
    let out = this.opts.rawQuotes ? "'" : "";
    for (;;) {
      const ch = this.next();
      if (ch === EOF) {
        throw new ShellUnterminatedError(
          "unexpected end of statement while looking for matching single-quote",
          start,
        );
      }
      if (ch === "'") break;
      out += ch;
    }
    return this.opts.rawQuotes ? `${out}'` : out;
  }

  private doubleQuote(): string {
    const start = this.pos;
    this.next();
    let out = this.opts.rawQuotes ? '"' : "";
    for (;;) {
      const ch = this.peek();
      if (ch === EOF) {
        throw new ShellUnterminatedError(
          "unexpected end of statement while looking for matching double-quote",
          start,
        );
      }
      if (ch === '"') {
        this.next();
        return this.opts.rawQuotes ? `${out}"` : out;
      }
      if (ch === "$") {
        out += this.dollar();
        continue;
      }
      let c = this.next();
      if (c === this.escape) {
        const n = this.peek();
        if (n === EOF) continue;
        if (n === '"' || n === "$" || n === this.escape) {
          if (this.opts.rawEscapes) out += c;
          c = this.next();
        }
      }
      out += c;
    }
  }

  private name(): string {
    let name = "";
    while (this.pos < this.src.length) {
      const ch = this.peek();
      if (name.length === 0 && isDigit(ch)) {
        while (isDigit(this.peek())) name += this.next();
        return name;
      }
      if (name.length === 0 && isSpecialParam(ch)) return this.next();
      if (!isNameChar(ch)) break;
      name += this.next();
    }
    return name;
  }

  private depth = 0;

  /** `$…`, with `${…}` nested at most {@link MAX_NESTING} deep (deeper input would overflow the stack). */
  private dollar(): string {
    if (!this.src.startsWith("${", this.pos)) return this.dollarInner();
    if (++this.depth > MAX_NESTING) {
      throw new ShellTooDeepError(
        `syntax error: \${…} nested more than ${MAX_NESTING} levels deep`,
        this.pos,
      );
    }
    try {
      return this.dollarInner();
    } finally {
      this.depth--;
    }
  }

  private dollarInner(): string {
    const start = this.pos;
    this.next();
    if (this.peek() !== "{") {
      const name = this.name();
      if (name === "") return "$";
      const value = this.get(name);
      if (value === undefined && this.opts.skipUnset) return `$${name}`;
      return value ?? "";
    }
    this.next();
    const first = this.peek();
    if (first === EOF) throw new ShellUnterminatedError("syntax error: missing '}'", start);
    if (first === "{" || first === "}" || first === ":") {
      throw new ShellBadSubstitutionError("syntax error: bad substitution", start);
    }
    const name = this.name();
    if (name === "") {
      throw new ShellBadSubstitutionError("syntax error: bad substitution", start);
    }
    let ch = this.next();
    let modifier = ch;
    if (ch === EOF) throw new ShellUnterminatedError("syntax error: missing '}'", start);
    if (ch === "}") {
      const value = this.get(name);
      if (value === undefined && this.opts.skipUnset) return `\${${name}}`;
      return value ?? "";
    }
    let nullIsUnset = false;
    if (ch === ":") {
      nullIsUnset = true;
      ch = this.next();
      modifier += ch;
    }
    if (ch === "+" || ch === "-" || ch === "?" || ch === "#" || ch === "%") {
      const patternMode = ch === "#" || ch === "%";
      if (nullIsUnset && patternMode) {
        throw new ShellUnsupportedModifierError(`unsupported modifier (${modifier}) in substitution`, start);
      }
      const word = this.run("}", patternMode).text;
      const value = this.get(name);
      if (value === undefined && this.opts.skipUnset) return `\${${name}${modifier}${word}}`;
      const empty = value === undefined || (nullIsUnset && value === "");
      switch (ch) {
        case "-":
          return empty ? word : value!;
        case "+":
          return empty ? "" : word;
        case "?":
          if (value === undefined) {
            throw new ShellRequiredVariableError(`${name}: ${word || "is not allowed to be unset"}`, start);
          }
          if (empty) {
            throw new ShellRequiredVariableError(`${name}: ${word || "is not allowed to be empty"}`, start);
          }
          return value;
        default: {
          let pattern = word;
          let longest = false;
          if (pattern.startsWith(ch)) {
            longest = true;
            pattern = pattern.slice(1);
          }
          const v = value ?? "";
          return ch === "%"
            ? trimSuffix(v, pattern, longest, this.escape)
            : trimPrefix(v, pattern, longest, this.escape);
        }
      }
    }
    if (ch === "/" && !nullIsUnset) {
      const all = this.peek() === "/";
      if (all) this.next();
      let pattern: string;
      try {
        pattern = this.run("/", true).text;
      } catch (e) {
        if (e instanceof ShellExpansionError && this.pos >= this.src.length) {
          throw new ShellUnterminatedError("syntax error: missing '/' in $" + "{}", start);
        }
        throw e;
      }
      const replacement = this.run("}", false).text;
      const value = this.get(name);
      if (value === undefined && this.opts.skipUnset) {
        return `\${${name}${all ? "//" : "/"}${pattern}/${replacement}}`;
      }
      return replacePattern(value ?? "", pattern, replacement, all, this.escape);
    }
    if (ch === EOF) throw new ShellUnterminatedError("syntax error: missing '}'", start);
    throw new ShellUnsupportedModifierError(`unsupported modifier (${modifier}) in substitution`, start);
  }
}

/**
 * Expands one word the way a Dockerfile instruction does: quotes removed, escapes applied,
 * `$V`, `${V}` and the `${V<modifier>…}` forms substituted. Whitespace is kept (no splitting).
 *
 * @example
 * ```ts
 * expandWord("${HOME:-/root}/bin", (n) => env[n]); // "/root/bin" when HOME is unset
 * ```
 * @throws ShellExpansionError on bad syntax or a `${V:?msg}` whose variable is unset.
 */
export function expandWord(word: string, lookup: VariableLookup, options: ShellWordOptions = {}): string {
  return new Lexer(word, lookup, options).run(EOF, options.rawEscapes ?? false).text;
}

/**
 * Expands a text and splits it into words at unquoted whitespace, including whitespace
 * produced by unquoted expansions (`EXPOSE $PORTS`).
 *
 * @example
 * ```ts
 * expandWords('80 "$P" 443', () => "8080 tcp"); // ["80", "8080 tcp", "443"]
 * ```
 */
export function expandWords(text: string, lookup: VariableLookup, options: ShellWordOptions = {}): string[] {
  return new Lexer(text, lookup, options).run(EOF, options.rawEscapes ?? false).words;
}

/** Like {@link expandWord}, also reporting the words and which variables were used or unset. */
export function expandWordDetailed(
  word: string,
  lookup: VariableLookup,
  options: ShellWordOptions = {},
): ExpansionResult {
  const lexer = new Lexer(word, lookup, options);
  const { text, words } = lexer.run(EOF, options.rawEscapes ?? false);
  return { value: text, words, used: [...lexer.used], unset: [...lexer.unset] };
}
