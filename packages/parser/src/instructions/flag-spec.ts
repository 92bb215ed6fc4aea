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
  /** Values by flag name: `true/false` for bool flags, a string, or a list for list flags. */
  private values: Record<string, boolean | string | string[]> | undefined;
  /** Where each occurrence of a flag is, by name. */
  private where: Record<string, SourceLocation[]> | undefined;

  has(name: string): boolean {
    return this.values !== undefined && name in this.values;
  }
  bool(name: string): boolean {
    return this.values?.[name] === true;
  }
  string(name: string): string | undefined {
    const v = this.values?.[name];
    return typeof v === "string" ? v : undefined;
  }
  list(name: string): string[] {
    const v = this.values?.[name];
    return Array.isArray(v) ? v : [];
  }
  location(name: string, index = 0): SourceLocation | undefined {
    return this.where?.[name]?.[index];
  }
  set(name: string, value: boolean | string | string[], location: SourceLocation): void {
    this.values ??= {};
    this.where ??= {};
    this.values[name] = value;
    (this.where[name] ??= []).push(location);
  }
}

const NO_FLAGS = new ParsedFlags();

/**
 * Checks an instruction's flags against its spec: unknown flags (with a suggestion), repeated
 * flags (except list flags), missing values and bad booleans are errors.
 */
export function parseFlags(kind: InstructionKind, flags: FlagNode[]): ParsedFlags {
  if (flags.length === 0) return NO_FLAGS;
  const spec = FLAG_SPECS[kind];
  const out = new ParsedFlags();
  for (const f of flags) {
    const type = Object.hasOwn(spec, f.name) ? spec[f.name] : undefined;
    const fail = (reason: string) =>
      new DockerfileError("MOLT_DOCKERFILE_FLAG", `${kind}: ${reason}`, f.location);
    if (type === undefined) {
      const hint = suggest(f.name, Object.keys(spec));
      throw fail(`unknown flag: --${f.name}${hint ? ` (did you mean --${hint}?)` : ""}`);
    }
    if (type !== "strings" && out.has(f.name)) throw fail(`duplicate flag specified: --${f.name}`);
    if (type === "bool") {
      if (f.value === undefined) out.set(f.name, true, f.location);
      else if (f.value === "") throw fail(`missing a value on flag: --${f.name}`);
      else if (/^true$/i.test(f.value)) out.set(f.name, true, f.location);
      else if (/^false$/i.test(f.value)) out.set(f.name, false, f.location);
      else throw fail(`expecting boolean value for flag --${f.name}, not: ${f.value}`);
    } else {
      if (f.value === undefined) throw fail(`missing a value on flag: --${f.name}`);
      if (type === "string") out.set(f.name, f.value, f.location);
      else out.set(f.name, [...out.list(f.name), f.value], f.location);
    }
  }
  return out;
}
