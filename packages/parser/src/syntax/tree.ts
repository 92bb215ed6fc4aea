import type { SourceLocation } from "../location.js";

/**
 * The lossless syntax tree of a Dockerfile: every physical line of the file belongs to exactly
 * one node, and each node keeps its source text in `raw`, so {@link printSyntaxTree} gives the
 * input back byte for byte.
 * @module
 */

/** A parser directive at the top of the file (`# syntax=…`, `# escape=…`, `# check=…`). */
export interface DirectiveNode {
  type: "directive";
  /** Lower-cased directive name. */
  name: "syntax" | "escape" | "check";
  /** The value as written (surrounding whitespace trimmed). */
  value: string;
  location: SourceLocation;
  raw: string;
}

/** A comment line outside any instruction. */
export interface CommentNode {
  type: "comment";
  /** The comment text after `#`. */
  text: string;
  location: SourceLocation;
  raw: string;
}

/** An empty or whitespace-only line outside any instruction. */
export interface BlankNode {
  type: "blank";
  location: SourceLocation;
  raw: string;
}

/** A `--name[=value]` flag at the start of an instruction's arguments. */
export interface FlagNode {
  /** The flag word as written, quotes included (e.g. `--from="build"`). */
  raw: string;
  /** The flag word after quote and escape removal (e.g. `--from=build`). */
  text: string;
  /** The name between `--` and `=` (e.g. `from`). */
  name: string;
  /** The value after `=`, or `undefined` for a bare `--flag`. */
  value?: string;
  location: SourceLocation;
}

/** A here-document attached to a RUN, COPY or ADD instruction. */
export interface HeredocNode {
  /** Delimiter word with quotes removed (e.g. `EOF`). */
  name: string;
  /** The `<<…` word as written (e.g. `3<<-"EOF"`). */
  word: string;
  /** The file descriptor before `<<` (e.g. 3 in `3<<EOF`), when given. */
  fileDescriptor?: number;
  /** `<<-`: leading tabs are stripped from the body and the terminator. */
  chomp: boolean;
  /** False when the delimiter was quoted: the body is not expanded. */
  expand: boolean;
  /** The body exactly as written, each line with its line ending, terminator excluded. */
  body: string;
  /** Range of the body and the terminator line. */
  location: SourceLocation;
}

/** One instruction: a logical line (continuations joined) plus the bodies of its heredocs. */
export interface InstructionNode {
  type: "instruction";
  /** The keyword as written (`run`, `Run`, …). */
  keyword: string;
  /** The keyword upper-cased. */
  name: string;
  keywordLocation: SourceLocation;
  /** Flags at the start of the arguments. */
  flags: FlagNode[];
  /** The arguments after the flags, continuations joined and surrounding whitespace trimmed. */
  args: string;
  argsLocation: SourceLocation;
  /** The whole logical line, continuations joined, comment lines dropped, trimmed. */
  original: string;
  /** Here-documents read after the line. */
  heredocs: HeredocNode[];
  /** For `ONBUILD`, the trigger instruction parsed from its arguments. */
  trigger?: InstructionNode;
  /** Lines inside the continuation that were empty (BuildKit warns about them). */
  emptyContinuationLines: number[];
  location: SourceLocation;
  raw: string;
}

/** Any node of the syntax tree. */
export type SyntaxNode = DirectiveNode | CommentNode | BlankNode | InstructionNode;

/** The syntax tree of one Dockerfile. */
export interface SyntaxTree {
  file: string;
  /** True when the text started with a UTF-8 byte-order mark (dropped from `raw`s). */
  bom: boolean;
  /** The escape character in effect (`\` or a backtick). */
  escapeToken: string;
  /** Every line of the file, in order. */
  nodes: SyntaxNode[];
}

/** Writes a syntax tree back as Dockerfile text (identical to the parsed input). */
export function printSyntaxTree(tree: SyntaxTree): string {
  let out = tree.bom ? "\uFEFF" : "";
  for (const node of tree.nodes) out += node.raw;
  return out;
}
