import { DockerfileError } from "../errors.js";
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

/** The parsed flags of one instruction. */
export class ParsedFlags {
  readonly bools = new Map<string, boolean>();
  readonly strings = new Map<string, string>();
  readonly lists = new Map<string, string[]>();
  readonly locations = new Map<string, SourceLocation[]>();

  bool(name: string): boolean {
    return this.bools.get(name) ?? false;
  }
  string(name: string): string | undefined {
    return this.strings.get(name);
  }
  list(name: string): string[] {
    return this.lists.get(name) ?? [];
  }
}

/**
 * Checks an instruction's flags against its spec: unknown flags (with a suggestion), repeated
 * flags (except list flags), missing values and bad booleans are errors.
 */
export function parseFlags(kind: InstructionKind, flags: FlagNode[]): ParsedFlags {
  const spec = FLAG_SPECS[kind];
  const out = new ParsedFlags();
  for (const f of flags) {
    const type = spec[f.name];
    const fail = (reason: string) =>
      new DockerfileError("MOLT_DOCKERFILE_FLAG", `${kind}: ${reason}`, f.location);
    if (type === undefined) {
      const hint = suggest(f.name, Object.keys(spec));
      throw fail(`unknown flag: --${f.name}${hint ? ` (did you mean --${hint}?)` : ""}`);
    }
    if (type !== "strings" && out.locations.has(f.name)) throw fail(`duplicate flag specified: --${f.name}`);
    out.locations.set(f.name, [...(out.locations.get(f.name) ?? []), f.location]);
    if (type === "bool") {
      if (f.value === undefined) out.bools.set(f.name, true);
      else if (f.value === "") throw fail(`missing a value on flag: --${f.name}`);
      else if (/^true$/i.test(f.value)) out.bools.set(f.name, true);
      else if (/^false$/i.test(f.value)) out.bools.set(f.name, false);
      else throw fail(`expecting boolean value for flag --${f.name}, not: ${f.value}`);
    } else {
      if (f.value === undefined) throw fail(`missing a value on flag: --${f.name}`);
      if (type === "string") out.strings.set(f.name, f.value);
      else out.lists.set(f.name, [...out.list(f.name), f.value]);
    }
  }
  return out;
}
