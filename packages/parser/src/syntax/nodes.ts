import type { SourceLocation } from "../location.js";
import type { FlagNode, HeredocNode, InstructionNode } from "./tree.js";

/**
 * The instruction and flag nodes of the syntax tree. They hold the syntax-only locations
 * (`keywordLocation`, `argsLocation`, a flag's `location`) as columns on the node's first line
 * and build the {@link SourceLocation} object when first read: a big Dockerfile's tree then
 * holds two or three fewer objects per instruction for the garbage collector to copy and mark.
 * A range that spans continuation lines is built up front. Reading gives the same values as
 * plain properties; `toJSON` gives the plain-object form, fields in the documented order.
 * @module
 */

/** A location on one line: `file` and `line` of `on`, columns `column` to `endColumn`. */
function onLine(on: SourceLocation, column: number, endColumn: number): SourceLocation {
  return { file: on.file, line: on.line, column, endLine: on.line, endColumn };
}

/** A `--name[=value]` flag; see {@link FlagNode}. */
export class FlagSyntax implements FlagNode {
  raw: string;
  text: string;
  name: string;
  declare value?: string;
  /** The location once built, or the start column on the line of {@link FlagSyntax.#on}. */
  #at: SourceLocation | number;
  #endColumn: number;
  /** A location on the flag's line (the instruction's), for its file and line. */
  #on: SourceLocation;

  constructor(
    raw: string,
    text: string,
    name: string,
    value: string | undefined,
    at: SourceLocation | number,
    endColumn: number,
    on: SourceLocation,
  ) {
    this.raw = raw;
    this.text = text;
    this.name = name;
    if (value !== undefined) this.value = value;
    this.#at = at;
    this.#endColumn = endColumn;
    this.#on = on;
  }

  get location(): SourceLocation {
    const at = this.#at;
    if (typeof at !== "number") return at;
    const loc = onLine(this.#on, at, this.#endColumn);
    this.#at = loc;
    return loc;
  }
  set location(loc: SourceLocation) {
    this.#at = loc;
  }

  toJSON(): FlagNode {
    const out: FlagNode = { raw: this.raw, text: this.text, name: this.name, location: this.location };
    if (this.value !== undefined) out.value = this.value;
    return out;
  }
}

/** One instruction; see {@link InstructionNode}. */
export class InstructionSyntax implements InstructionNode {
  readonly type = "instruction" as const;
  keyword: string;
  name: string;
  flags: FlagNode[];
  args: string;
  declare trigger?: InstructionNode;
  original: string;
  heredocs: HeredocNode[];
  emptyContinuationLines: number[];
  location: SourceLocation;
  raw: string;
  /** Keyword range: built location, or start and end columns on the first line. */
  #keyword: SourceLocation | number;
  #keywordEnd: number;
  /** Arguments range, the same way. */
  #args: SourceLocation | number;
  #argsEnd: number;

  constructor(
    keyword: string,
    name: string,
    keywordAt: SourceLocation | number,
    keywordEnd: number,
    flags: FlagNode[],
    args: string,
    argsAt: SourceLocation | number,
    argsEnd: number,
    trigger: InstructionNode | undefined,
    original: string,
    heredocs: HeredocNode[],
    emptyContinuationLines: number[],
    location: SourceLocation,
    raw: string,
  ) {
    this.keyword = keyword;
    this.name = name;
    this.flags = flags;
    this.args = args;
    if (trigger !== undefined) this.trigger = trigger;
    this.original = original;
    this.heredocs = heredocs;
    this.emptyContinuationLines = emptyContinuationLines;
    this.location = location;
    this.raw = raw;
    this.#keyword = keywordAt;
    this.#keywordEnd = keywordEnd;
    this.#args = argsAt;
    this.#argsEnd = argsEnd;
  }

  get keywordLocation(): SourceLocation {
    const at = this.#keyword;
    if (typeof at !== "number") return at;
    const loc = onLine(this.location, at, this.#keywordEnd);
    this.#keyword = loc;
    return loc;
  }
  set keywordLocation(loc: SourceLocation) {
    this.#keyword = loc;
  }

  get argsLocation(): SourceLocation {
    const at = this.#args;
    if (typeof at !== "number") return at;
    const loc = onLine(this.location, at, this.#argsEnd);
    this.#args = loc;
    return loc;
  }
  set argsLocation(loc: SourceLocation) {
    this.#args = loc;
  }

  toJSON(): InstructionNode {
    const head = {
      type: this.type,
      keyword: this.keyword,
      name: this.name,
      keywordLocation: this.keywordLocation,
      flags: this.flags,
      args: this.args,
      argsLocation: this.argsLocation,
    };
    const tail = {
      original: this.original,
      heredocs: this.heredocs,
      emptyContinuationLines: this.emptyContinuationLines,
      location: this.location,
      raw: this.raw,
    };
    return this.trigger === undefined ? { ...head, ...tail } : { ...head, trigger: this.trigger, ...tail };
  }
}
