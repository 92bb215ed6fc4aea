import { type DockerfileError, DockerfileFlagError } from "../errors.js";
import type { SourceLocation } from "../location.js";
import type { FlagNode } from "../syntax/tree.js";
import { suggest } from "./suggest.js";
import type { InstructionKind } from "./types.js";

/** How a flag takes its value: bare or `=true/false`, one string, or a repeatable string. */
export type FlagType = "bool" | "string" | "strings";

/** The flags of each instruction in the stable syntax. */
export const FLAG_SPECS: Readonly<Record<InstructionKind, Readonly<Record<string, FlagType>>>> = {
  FROM: { platform: "string" },
  RUN: { mount: "strings", network: "string", security: "string" },
  COPY: {
    from: "string",
    chown: "string",
    chmod: "string",
    link: "bool",
    parents: "bool",
    exclude: "strings",
  },
  ADD: {
    chown: "string",
    chmod: "string",
    link: "bool",
    "keep-git-dir": "bool",
    checksum: "string",
    unpack: "bool",
    exclude: "strings",
  },
  HEALTHCHECK: {
    interval: "string",
    timeout: "string",
    "start-period": "string",
    "start-interval": "string",
    retries: "string",
  },
  CMD: {},
  ENTRYPOINT: {},
  ENV: {},
  LABEL: {},
  ARG: {},
  WORKDIR: {},
  USER: {},
  EXPOSE: {},
  VOLUME: {},
  STOPSIGNAL: {},
  SHELL: {},
  MAINTAINER: {},
  ONBUILD: {},
};

/** One shared empty list for instructions without a list flag. */
const NO_VALUES = Object.freeze([]) as unknown as string[];

/**
 * The flags of one instruction, checked against its spec. Lookups scan the instruction's few
 * flag nodes: nothing is copied.
 */
export class ParsedFlags {
  constructor(private readonly flags: readonly FlagNode[]) {}

  has(name: string): boolean {
    for (const f of this.flags) if (f.name === name) return true;
    return false;
  }
  bool(name: string): boolean {
    for (const f of this.flags) if (f.name === name) return f.value === undefined || /^true$/i.test(f.value);
    return false;
  }
  string(name: string): string | undefined {
    for (const f of this.flags) if (f.name === name) return f.value;
    return undefined;
  }
  /** Every value of a repeatable flag, in order (a shared frozen empty list when none). */
  list(name: string): string[] {
    let count = 0;
    for (const f of this.flags) if (f.name === name) count++;
    if (count === 0) return NO_VALUES;
    const out = new Array<string>(count);
    let k = 0;
    for (const f of this.flags) if (f.name === name) out[k++] = f.value!;
    return out;
  }
  /** Where the `index`-th occurrence of a flag is. */
  location(name: string, index = 0): SourceLocation | undefined {
    let k = 0;
    for (const f of this.flags) if (f.name === name && k++ === index) return f.location;
    return undefined;
  }
}

const NO_FLAGS = new ParsedFlags([]);

function flagError(kind: InstructionKind, f: FlagNode, reason: string): DockerfileError {
  return new DockerfileFlagError(`${kind}: ${reason}`, f.location);
}

const BOOLEAN = /^(true|false)$/i;

/**
 * Checks an instruction's flags against its spec: unknown flags (with a suggestion), repeated
 * flags (except list flags), missing values and bad booleans are errors.
 */
export function parseFlags(kind: InstructionKind, flags: FlagNode[]): ParsedFlags {
  if (flags.length === 0) return NO_FLAGS;
  const spec = FLAG_SPECS[kind];
  for (let k = 0; k < flags.length; k++) {
    const f = flags[k]!;
    const type = Object.hasOwn(spec, f.name) ? spec[f.name] : undefined;
    if (type === undefined) {
      const hint = suggest(f.name, Object.keys(spec));
      throw flagError(kind, f, `unknown flag: --${f.name}${hint ? ` (did you mean --${hint}?)` : ""}`);
    }
    if (type !== "strings") {
      for (let j = 0; j < k; j++) {
        if (flags[j]!.name === f.name) throw flagError(kind, f, `duplicate flag specified: --${f.name}`);
      }
    }
    if (type === "bool") {
      if (f.value === undefined || BOOLEAN.test(f.value)) continue;
      if (f.value === "") throw flagError(kind, f, `missing a value on flag: --${f.name}`);
      throw flagError(kind, f, `expecting boolean value for flag --${f.name}, not: ${f.value}`);
    }
    if (f.value === undefined) throw flagError(kind, f, `missing a value on flag: --${f.name}`);
  }
  return new ParsedFlags(flags);
}
