import { DockerfileError } from "../errors.js";
import type { SourceLocation } from "../location.js";
import { isKeywordSeparator, skipSpace, trimEndIndex } from "./chars.js";
import { KNOWN_DIRECTIVES, matchDirective } from "./directives.js";
import { extractFlags } from "./flags.js";
import { findHeredocWords } from "./heredoc-words.js";
import { parseJsonArgs } from "./json-args.js";
import { LineMap } from "./line-map.js";
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

const HEREDOC_INSTRUCTIONS = new Set(["RUN", "COPY", "ADD"]);

/** One shared empty list for the many nodes without heredocs or empty continuation lines. */
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

/** The physical lines of a text: start offsets, content ends (line ending excluded), next starts. */
class Lines {
  readonly starts: number[] = [];
  readonly ends: number[] = [];
  readonly nexts: number[] = [];
  constructor(readonly text: string) {
    let pos = 0;
    const n = text.length;
    while (pos < n) {
      const nl = text.indexOf("\n", pos);
      const next = nl < 0 ? n : nl + 1;
      let end = nl < 0 ? n : nl;
      if (end > pos && text.charCodeAt(end - 1) === 13) end--;
      this.starts.push(pos);
      this.ends.push(end);
      this.nexts.push(next);
      pos = next;
    }
  }
  get count(): number {
    return this.starts.length;
  }
  content(i: number): string {
    return this.text.slice(this.starts[i]!, this.ends[i]!);
  }
  /** Raw text of lines `[from, to]` inclusive, line endings included. */
  raw(from: number, to: number): string {
    return this.text.slice(this.starts[from]!, this.nexts[to]!);
  }
  /** Location of the whole content of lines `[from, to]`. */
  location(file: string, from: number, to: number, fromColumn = 1): SourceLocation {
    return {
      file,
      line: from + 1,
      column: fromColumn,
      endLine: to + 1,
      endColumn: this.ends[to]! - this.starts[to]! + 1,
    };
  }
}

/** Removes a trailing escape character (plus spaces or tabs after it): `[text, continues]`. */
function trimContinuation(s: string, escapeToken: string): [string, boolean] {
  let i = s.length;
  while (i > 0 && (s[i - 1] === " " || s[i - 1] === "\t")) i--;
  if (i > 0 && s[i - 1] === escapeToken) return [s.slice(0, i - 1), true];
  return [s, false];
}

function isJson(args: string): boolean {
  return parseJsonArgs(args).kind !== "not-json";
}

type HeaderNode = Omit<
  InstructionNode,
  "type" | "original" | "heredocs" | "emptyContinuationLines" | "location" | "raw"
>;

/** Reads keyword, flags and arguments of the logical line `joined` from `base` on. */
function readHeader(joined: string, base: number, map: LineMap): HeaderNode {
  const end = trimEndIndex(joined);
  const kwStart = skipSpace(joined, base);
  let kwEnd = kwStart;
  while (kwEnd < end && !isKeywordSeparator(joined[kwEnd]!)) kwEnd++;
  let restStart = kwEnd;
  while (restStart < end && isKeywordSeparator(joined[restStart]!)) restStart++;
  const rest = joined.slice(restStart, end);
  const { flags: rawFlags, rest: argsRel } = extractFlags(rest);
  const flags: FlagNode[] = rawFlags.map((f) => {
    const eq = f.text.indexOf("=");
    const raw = rest.slice(f.start, f.end);
    const flag: FlagNode = {
      raw: raw === f.text ? f.text : raw,
      text: f.text,
      name: eq < 0 ? f.text.slice(2) : f.text.slice(2, eq),
      location: map.range(restStart + f.start, restStart + f.end),
    };
    if (eq >= 0) flag.value = f.text.slice(eq + 1);
    return flag;
  });
  const argsStart = restStart + skipSpace(rest, argsRel);
  const keyword = joined.slice(kwStart, kwEnd);
  const header: HeaderNode = {
    keyword,
    name: upperKeyword(keyword),
    keywordLocation: map.range(kwStart, kwEnd),
    flags,
    args: joined.slice(argsStart, end),
    argsLocation: map.range(argsStart, Math.max(argsStart, end)),
  };
  if (header.name === "ONBUILD" && header.args !== "") {
    const t = readHeader(joined, argsStart, map);
    header.trigger = {
      type: "instruction",
      ...t,
      original: joined.slice(argsStart, end),
      heredocs: NONE,
      emptyContinuationLines: NONE,
      location: map.range(argsStart, end),
      raw: joined.slice(argsStart, end),
    };
  }
  return header;
}

/**
 * Parses Dockerfile text into its lossless syntax tree: directives, comments, blank lines and
 * instructions (continuations joined, flags separated, heredoc bodies read).
 *
 * @throws DockerfileError for a repeated or invalid directive, or an unterminated heredoc.
 */
export function parseSyntax(input: string, options: ParseSyntaxOptions = {}): SyntaxTree {
  const file = options.file ?? "Dockerfile";
  const bom = input.charCodeAt(0) === 0xfeff;
  const text = bom ? input.slice(1) : input;
  const lines = new Lines(text);
  const nodes: SyntaxNode[] = [];
  let escapeToken = "\\";
  const seen = new Set<string>();
  let i = 0;

  // Directives: only at the top, scanning stops at the first line that is not a known one.
  for (; i < lines.count; i++) {
    const content = lines.content(i);
    const lead = skipSpace(content);
    const d = matchDirective(content.slice(lead));
    if (!d || !(KNOWN_DIRECTIVES as readonly string[]).includes(d.key)) break;
    const location = lines.location(file, i, i, lead + 1);
    if (seen.has(d.key)) {
      throw new DockerfileError(
        "MOLT_DOCKERFILE_DIRECTIVE",
        `only one ${d.key} parser directive can be used`,
        location,
      );
    }
    seen.add(d.key);
    if (d.key === "escape") {
      if (d.value !== "\\" && d.value !== "`") {
        throw new DockerfileError(
          "MOLT_DOCKERFILE_DIRECTIVE",
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
      raw: lines.raw(i, i),
    };
    nodes.push(node);
  }

  while (i < lines.count) {
    const content = lines.content(i);
    const lead = skipSpace(content);
    if (lead === content.length) {
      nodes.push({ type: "blank", location: lines.location(file, i, i), raw: lines.raw(i, i) });
      i++;
      continue;
    }
    if (content[lead] === "#") {
      nodes.push({
        type: "comment",
        text: content.slice(lead + 1),
        location: lines.location(file, i, i, lead + 1),
        raw: lines.raw(i, i),
      });
      i++;
      continue;
    }
    const first = i;
    const map = new LineMap(file);
    let [joined, continues] = trimContinuation(content.slice(lead), escapeToken);
    map.add(0, i + 1, lead + 1);
    let emptyContinuationLines: number[] = NONE;
    while (continues && i + 1 < lines.count) {
      i++;
      const c = lines.content(i);
      const l = skipSpace(c);
      if (l < c.length && c[l] === "#") continue;
      if (l === c.length) {
        emptyContinuationLines = [...emptyContinuationLines, i + 1];
        continue;
      }
      const [piece, more] = trimContinuation(c, escapeToken);
      map.add(joined.length, i + 1, 1);
      joined += piece;
      continues = more;
    }
    const header = readHeader(joined, 0, map);
    const end = map.endPosition(trimEndIndex(joined));
    const node: InstructionNode = {
      type: "instruction",
      ...header,
      original: joined.slice(0, trimEndIndex(joined)),
      heredocs: NONE,
      emptyContinuationLines,
      location: { file, line: first + 1, column: lead + 1, endLine: end.line, endColumn: end.column },
      raw: "",
    };
    const target = node.name === "ONBUILD" && node.trigger ? node.trigger : node;
    if (HEREDOC_INSTRUCTIONS.has(target.name) && !isJson(target.args)) {
      for (const h of findHeredocWords(joined)) {
        const bodyStart = i + 1;
        let body = "";
        let terminated = false;
        while (i + 1 < lines.count) {
          i++;
          let candidate = lines.content(i);
          if (h.chomp) candidate = candidate.replace(/^\t+/, "");
          if (candidate === h.name) {
            terminated = true;
            break;
          }
          body += lines.raw(i, i);
        }
        if (!terminated) {
          throw new DockerfileError(
            "MOLT_DOCKERFILE_HEREDOC",
            `unterminated heredoc ${h.word}: no line "${h.name}" ends it`,
            lines.location(file, first, Math.max(first, lines.count - 1), lead + 1),
          );
        }
        const heredoc: HeredocNode = {
          name: h.name,
          word: h.word,
          chomp: h.chomp,
          expand: h.expand,
          body,
          location: lines.location(file, Math.min(bodyStart, i), i),
        };
        if (h.fileDescriptor !== undefined) heredoc.fileDescriptor = h.fileDescriptor;
        target.heredocs = [...target.heredocs, heredoc];
        node.location = {
          ...node.location,
          endLine: i + 1,
          endColumn: lines.ends[i]! - lines.starts[i]! + 1,
        };
      }
    }
    node.raw = lines.raw(first, i);
    nodes.push(node);
    i++;
  }
  return { file, bom, escapeToken, nodes };
}
