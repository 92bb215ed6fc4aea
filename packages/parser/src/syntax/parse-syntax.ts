import { DockerfileDirectiveError, DockerfileHeredocError } from "../errors.js";
import type { SourceLocation } from "../location.js";
import { isKeywordSeparator, skipSpace, trimEndIndex } from "./chars.js";
import { KNOWN_DIRECTIVES, matchDirective } from "./directives.js";
import { extractFlags } from "./flags.js";
import { findHeredocWords } from "./heredoc-words.js";
import { parseJsonArgs } from "./json-args.js";
import { LineMap } from "./line-map.js";
import { FlagSyntax, InstructionSyntax } from "./nodes.js";
import { StringTable } from "./strings.js";
import type {
  DirectiveNode,
  FlagNode,
  HeredocNode,
  InstructionNode,
  SyntaxNode,
  SyntaxTree,
} from "./tree.js";

/** Options of {@link parseSyntax}. */
export interface ParseSyntaxOptions {
  /** File name used in locations and errors (default `Dockerfile`). */
  file?: string;
}

const HASH = 35;
const TAB = 9;
const SPACE = 32;
const DASH = 45;

/** One shared empty list for the many nodes without flags, heredocs or empty continuation lines. */
const NONE = Object.freeze([]) as unknown as never[];

const KEYWORDS_UPPER = new Map<string, string>();
/** The keyword upper-cased, interned so equal keywords share one string. */
function upperKeyword(keyword: string): string {
  let up = KEYWORDS_UPPER.get(keyword);
  if (up === undefined) {
    up = keyword.toUpperCase();
    if (KEYWORDS_UPPER.size < 256) KEYWORDS_UPPER.set(keyword, up === keyword ? keyword : up);
  }
  return up;
}

/** State of one parse shared by the readers below. */
interface Reader {
  map: LineMap;
  strings: StringTable;
}

/**
 * Walks the physical lines of a text without building a table of them: `start` of the current
 * line, `end` of its content (line ending excluded), `next` the start of the following line.
 */
class LineCursor {
  /** 0-based number of the current line (-1 before the first {@link advance}). */
  index = -1;
  start = 0;
  end = 0;
  next = 0;
  constructor(readonly text: string) {}

  /** True when a line follows the current one. */
  get hasNext(): boolean {
    return this.next < this.text.length;
  }

  /** Moves to the next line; false (and nothing moved) at the end of the text. */
  advance(): boolean {
    const text = this.text;
    const pos = this.next;
    const n = text.length;
    if (pos >= n) return false;
    const nl = text.indexOf("\n", pos);
    let end = nl < 0 ? n : nl;
    if (end > pos && text.charCodeAt(end - 1) === 13) end--;
    this.index++;
    this.start = pos;
    this.end = end;
    this.next = nl < 0 ? n : nl + 1;
    return true;
  }

  /** Location of the content of the current line from `column` on. */
  location(file: string, column = 1): SourceLocation {
    const line = this.index + 1;
    return { file, line, column, endLine: line, endColumn: this.end - this.start + 1 };
  }
}

/**
 * Where a trailing escape character (plus spaces or tabs after it) starts in `text[from, to)`,
 * or -1 when the line does not continue. As in BuildKit (`([^\\])\\[ \t]*$|^\\[ \t]*$`), an
 * escape right after another escape does not continue the line (`ENV C a\\` ends there); like
 * BuildKit's, this does not count longer runs: `a\\\` does not continue either.
 */
function continuationAt(text: string, from: number, to: number, escapeCode: number): number {
  let i = to;
  while (i > from) {
    const c = text.charCodeAt(i - 1);
    if (c !== SPACE && c !== TAB) break;
    i--;
  }
  if (!(i > from && text.charCodeAt(i - 1) === escapeCode)) return -1;
  if (i - 1 > from && text.charCodeAt(i - 2) === escapeCode) return -1;
  return i - 1;
}

/** Offsets and decoded text of the flags of the instruction being read (reused). */
const flagScratch: (string | number)[] = [];

/**
 * Reads the instruction of the logical line `joined` from `base` on (keyword, flags, arguments;
 * for ONBUILD the trigger too). `end` is where `joined` ends once trailing whitespace is
 * trimmed; `originalStart` where `original` starts. `location` is the caller's (the trigger's
 * is computed), and so is `raw` (the trigger's is its `original`).
 */
function readInstruction(
  joined: string,
  base: number,
  end: number,
  originalStart: number,
  reader: Reader,
  emptyContinuationLines: number[],
  location: SourceLocation | undefined,
): InstructionNode {
  const { map, strings } = reader;
  const loc = location ?? map.range(originalStart, end);
  const kwStart = skipSpace(joined, base);
  let kwEnd = kwStart;
  while (kwEnd < end && !isKeywordSeparator(joined.charCodeAt(kwEnd))) kwEnd++;
  let restStart = kwEnd;
  while (restStart < end && isKeywordSeparator(joined.charCodeAt(restStart))) restStart++;
  let flags: FlagNode[] = NONE;
  let argsStart = restStart;
  if (restStart < end) {
    let p = restStart;
    // Flags exist only when the arguments (after whitespace) start with `--`.
    const first = skipSpace(joined, restStart, end);
    if (first + 1 < end && joined.charCodeAt(first) === DASH && joined.charCodeAt(first + 1) === DASH) {
      flagScratch.length = 0;
      p = extractFlags(joined, restStart, end, flagScratch);
      if (flagScratch.length > 0) flags = makeFlags(joined, reader, loc);
    }
    argsStart = skipSpace(joined, p, end);
  }
  const keyword = strings.slice(joined, kwStart, kwEnd);
  const name = upperKeyword(keyword);
  const args = strings.slice(joined, argsStart, end);
  const original = strings.slice(joined, originalStart, end);
  const argsEnd = Math.max(argsStart, end);
  const trigger =
    name === "ONBUILD" && args !== ""
      ? readInstruction(joined, argsStart, end, argsStart, reader, NONE, undefined)
      : undefined;
  // Syntax-only ranges on the first physical line are kept as columns (see InstructionSyntax).
  return new InstructionSyntax(
    keyword,
    name,
    map.onFirstLine(kwStart, kwEnd) ? map.columnOnFirstLine(kwStart) : map.range(kwStart, kwEnd),
    map.columnOnFirstLine(Math.max(kwStart, kwEnd)),
    flags,
    args,
    map.onFirstLine(argsStart, argsEnd) ? map.columnOnFirstLine(argsStart) : map.range(argsStart, argsEnd),
    map.columnOnFirstLine(argsEnd),
    trigger,
    original,
    NONE,
    emptyContinuationLines,
    loc,
    location === undefined ? original : "",
  );
}

/**
 * Turns the entries {@link extractFlags} left in {@link flagScratch} into flag nodes. `on` is a
 * location on the instruction's first line (for the flags' file and line).
 */
function makeFlags(joined: string, { map, strings }: Reader, on: SourceLocation): FlagNode[] {
  // Sized up front: a list grown by push keeps room for 17 entries.
  const flags = new Array<FlagNode>(flagScratch.length / 3);
  for (let k = 0; k < flagScratch.length; k += 3) {
    const text = strings.share(flagScratch[k] as string);
    const start = flagScratch[k + 1] as number;
    const stop = flagScratch[k + 2] as number;
    let raw = text;
    if (stop - start !== text.length || !joined.startsWith(text, start)) {
      const written = joined.slice(start, stop);
      if (written !== text) raw = written;
    }
    const eq = text.indexOf("=");
    const name = eq < 0 ? strings.slice(text, 2, text.length) : strings.slice(text, 2, eq);
    const value = eq < 0 ? undefined : strings.slice(text, eq + 1, text.length);
    const at = map.onFirstLine(start, stop) ? map.columnOnFirstLine(start) : map.range(start, stop);
    flags[k / 3] = new FlagSyntax(raw, text, name, value, at, map.columnOnFirstLine(stop), on);
  }
  return flags;
}

/**
 * Parses Dockerfile text into its lossless syntax tree: directives, comments, blank lines and
 * instructions (continuations joined, flags separated, heredoc bodies read).
 *
 * @throws DockerfileError for a repeated or invalid directive, or an unterminated heredoc.
 */
export function parseSyntax(input: string, options: ParseSyntaxOptions = {}): SyntaxTree {
  return readSyntax(input, options, new StringTable());
}

/** {@link parseSyntax} sharing short strings through `strings` (also used for the instructions). */
export function readSyntax(input: string, options: ParseSyntaxOptions, strings: StringTable): SyntaxTree {
  const file = options.file ?? "Dockerfile";
  const bom = input.charCodeAt(0) === 0xfeff;
  const text = bom ? input.slice(1) : input;
  const cur = new LineCursor(text);
  const nodes: SyntaxNode[] = [];
  let escapeToken = "\\";
  const seen = new Set<string>();
  let more = cur.advance();

  // Directives: only at the top, scanning stops at the first line that is not a known one.
  for (; more; more = cur.advance()) {
    const lead = skipSpace(text, cur.start, cur.end);
    const d = matchDirective(text.slice(lead, cur.end));
    if (!d || !(KNOWN_DIRECTIVES as readonly string[]).includes(d.key)) break;
    const location = cur.location(file, lead - cur.start + 1);
    if (seen.has(d.key)) {
      throw new DockerfileDirectiveError(`only one ${d.key} parser directive can be used`, location);
    }
    seen.add(d.key);
    if (d.key === "escape") {
      if (d.value !== "\\" && d.value !== "`") {
        throw new DockerfileDirectiveError(
          `invalid escape token '${d.value}' does not match \` or \\`,
          location,
        );
      }
      escapeToken = d.value;
    }
    const node: DirectiveNode = {
      type: "directive",
      name: d.key as DirectiveNode["name"],
      value: d.value,
      location,
      raw: text.slice(cur.start, cur.next),
    };
    nodes.push(node);
  }

  const escapeCode = escapeToken.charCodeAt(0);
  const map = new LineMap(file);
  const reader: Reader = { map, strings };
  for (; more; more = cur.advance()) {
    const lineStart = cur.start;
    const lead = skipSpace(text, lineStart, cur.end);
    if (lead === cur.end) {
      nodes.push({
        type: "blank",
        location: cur.location(file),
        raw: strings.slice(text, lineStart, cur.next),
      });
      continue;
    }
    if (text.charCodeAt(lead) === HASH) {
      nodes.push({
        type: "comment",
        text: strings.slice(text, lead + 1, cur.end),
        location: cur.location(file, lead - lineStart + 1),
        raw: strings.slice(text, lineStart, cur.next),
      });
      continue;
    }
    const first = cur.index;
    map.reset(first + 1, lead - lineStart + 1);
    const at = continuationAt(text, lead, cur.end, escapeCode);
    let joined = text.slice(lead, at < 0 ? cur.end : at);
    let continues = at >= 0;
    let emptyContinuationLines: number[] = NONE;
    while (continues && cur.hasNext) {
      cur.advance();
      const l = skipSpace(text, cur.start, cur.end);
      if (l < cur.end && text.charCodeAt(l) === HASH) continue;
      if (l === cur.end) {
        if (emptyContinuationLines === NONE) emptyContinuationLines = [];
        emptyContinuationLines.push(cur.index + 1);
        continue;
      }
      const cont = continuationAt(text, cur.start, cur.end, escapeCode);
      map.add(joined.length, cur.index + 1, 1);
      joined += text.slice(cur.start, cont < 0 ? cur.end : cont);
      continues = cont >= 0;
    }
    const end = trimEndIndex(joined);
    const location: SourceLocation = {
      file,
      line: first + 1,
      column: lead - lineStart + 1,
      endLine: map.endLine(end),
      endColumn: map.endColumn(end),
    };
    const node = readInstruction(joined, 0, end, 0, reader, emptyContinuationLines, location);
    const target = node.name === "ONBUILD" && node.trigger ? node.trigger : node;
    if (
      (target.name === "RUN" || target.name === "COPY" || target.name === "ADD") &&
      joined.includes("<<") &&
      parseJsonArgs(target.args).kind === "not-json"
    ) {
      for (const h of findHeredocWords(joined)) {
        const bodyStart = cur.next;
        const bodyLine = cur.index + 1;
        let terminated = false;
        while (cur.hasNext) {
          cur.advance();
          let p = cur.start;
          if (h.chomp) while (p < cur.end && text.charCodeAt(p) === TAB) p++;
          if (cur.end - p === h.name.length && text.startsWith(h.name, p)) {
            terminated = true;
            break;
          }
        }
        if (!terminated) {
          throw new DockerfileHeredocError(`unterminated heredoc ${h.word}: no line "${h.name}" ends it`, {
            file,
            line: first + 1,
            column: lead - lineStart + 1,
            endLine: cur.index + 1,
            endColumn: cur.end - cur.start + 1,
          });
        }
        const heredoc: HeredocNode = {
          name: strings.share(h.name),
          word: strings.share(h.word),
          chomp: h.chomp,
          expand: h.expand,
          body: text.slice(bodyStart, cur.start),
          location: {
            file,
            line: Math.min(bodyLine, cur.index) + 1,
            column: 1,
            endLine: cur.index + 1,
            endColumn: cur.end - cur.start + 1,
          },
        };
        if (h.fileDescriptor !== undefined) heredoc.fileDescriptor = h.fileDescriptor;
        target.heredocs = target.heredocs === NONE ? [heredoc] : [...target.heredocs, heredoc];
        // The node's own location object (not shared yet): extend it to the terminator.
        node.location.endLine = cur.index + 1;
        node.location.endColumn = cur.end - cur.start + 1;
      }
    }
    node.raw = strings.slice(text, lineStart, cur.next);
    nodes.push(node);
  }
  return { file, bom, escapeToken, nodes };
}
