import {
  DockerfileArgumentsError,
  type DockerfileError,
  DockerfileFlagError,
  DockerfileUnknownInstructionError,
} from "../errors.js";
import type { SourceLocation } from "../location.js";
import { parseHeredocWord } from "../syntax/heredoc-words.js";
import { parseJsonArgs } from "../syntax/json-args.js";
import type { StringTable } from "../syntax/strings.js";
import type { HeredocNode, InstructionNode } from "../syntax/tree.js";
import { splitRawWords } from "../syntax/words.js";
import type { WarningSink } from "../warnings.js";
import { type ParsedFlags, parseFlags } from "./flag-spec.js";
import { MountSyntaxError, parseMount } from "./mounts.js";
import { suggest } from "./suggest.js";
import {
  type CommandForm,
  type Heredoc,
  INSTRUCTION_KINDS,
  type Instruction,
  type InstructionBase,
  type InstructionKind,
  type KeyValue,
  type Mount,
} from "./types.js";
import { isValidChmod, parseDuration } from "./values.js";

const STAGE_NAME = /^[a-z][a-z0-9-_.]*$/;
const RESERVED_STAGE_NAMES = new Set(["scratch", "context"]);
/**
 * BuildKit's SecretsUsedInArgOrEnv words: a key is suspicious when one of its words is one of
 * these, words being the runs of ASCII letters, also split where a lower-case letter is
 * followed by an upper-case one (`dbPassword` → `db`, `Password`), compared without case.
 */
const SECRET_WORDS = new Set([
  "apikey",
  "auth",
  "credential",
  "credentials",
  "key",
  "password",
  "pword",
  "passwd",
  "secret",
  "token",
]);

/** Context of {@link buildInstruction}. */
export interface BuildContext {
  escapeToken: string;
  warnings: WarningSink;
  /** Shares the short strings of one parse (see {@link StringTable}). */
  strings: StringTable;
}

/** One shared empty list for the many instructions without heredocs (lists are read-only). */
const NONE = Object.freeze([]) as unknown as never[];

/** The tab, vertical tab, form feed, carriage return and space that separate plain words. */
function isWordSeparator(c: number): boolean {
  return c === 32 || c === 9 || c === 11 || c === 12 || c === 13;
}

/** Reused by {@link words} and for {@link splitRawWords}: never kept, only read or copied out. */
const wordScratch: string[] = [];

/** `args` trimmed and split on runs of `[\t\v\f\r ]` (no quote handling). */
function words(args: string, strings: StringTable): string[] {
  const t = args.trim();
  const n = t.length;
  wordScratch.length = 0;
  let i = 0;
  while (i < n) {
    const start = i;
    while (i < n && !isWordSeparator(t.charCodeAt(i))) i++;
    wordScratch.push(strings.slice(t, start, i));
    while (i < n && isWordSeparator(t.charCodeAt(i))) i++;
  }
  // A list grown by push keeps room for 17 entries; the copy has exactly what it holds.
  const out = wordScratch.slice();
  wordScratch.length = 0;
  return out;
}

/** The heredocs of a syntax node as instruction heredocs (the shared empty list when none). */
function heredocsOf(node: InstructionNode): Heredoc[] {
  return node.heredocs.length === 0 ? NONE : node.heredocs.map(heredocOf);
}

/** Like {@link parseHeredocWord}, without the regular expression for words lacking `<<`. */
function heredocWord(word: string): ReturnType<typeof parseHeredocWord> {
  return word.includes("<<") ? parseHeredocWord(word) : undefined;
}

/** The JSON strings of an exec form, short ones shared. */
function shareAll(values: string[], strings: StringTable): string[] {
  for (let k = 0; k < values.length; k++) values[k] = strings.share(values[k]!);
  return values;
}

function heredocOf(node: HeredocNode): Heredoc {
  const h: Heredoc = {
    name: node.name,
    chomp: node.chomp,
    expand: node.expand,
    content: node.chomp ? node.body.replace(/^\t+/gm, "") : node.body,
    location: node.location,
  };
  if (node.fileDescriptor !== undefined) h.fileDescriptor = node.fileDescriptor;
  return h;
}

function argError(reason: string, at: SourceLocation): DockerfileError {
  return new DockerfileArgumentsError(reason, at);
}

/**
 * Reads RUN/CMD/ENTRYPOINT arguments: the exec form's strings (an array) or the shell form's
 * command text (a string).
 */
function readCommand(
  node: InstructionNode,
  what: string,
  allowEmpty: boolean,
  strings: StringTable,
): string[] | string {
  const args = node.args;
  const j = parseJsonArgs(args);
  if (j.kind === "not-string-array") {
    throw argError(
      `${what}: the JSON array must hold only strings (element ${j.index} is not a string)`,
      node.location,
    );
  }
  if (j.kind === "json") {
    if (!allowEmpty && j.values.length === 0)
      throw argError(`${what} requires at least one argument`, node.location);
    return shareAll(j.values, strings);
  }
  if (!allowEmpty && args === "") throw argError(`${what} requires at least one argument`, node.location);
  return args;
}

function readPathList(
  node: InstructionNode,
  kind: InstructionKind,
  strings: StringTable,
): { items: string[]; json: boolean } {
  const j = parseJsonArgs(node.args);
  if (j.kind === "not-string-array") {
    throw argError(
      `${kind}: the JSON array must hold only strings (element ${j.index} is not a string)`,
      node.location,
    );
  }
  if (j.kind === "json") return { items: shareAll(j.values, strings), json: true };
  return { items: words(node.args, strings), json: false };
}

const LEGACY_KEY_VALUE = /^(\S+)[\t\v\f\r ]+([\s\S]*)$/;

function readKeyValues(
  node: InstructionNode,
  kind: InstructionKind,
  ctx: BuildContext,
): { pairs: KeyValue[]; legacy: boolean } {
  const args = node.args;
  const ws = splitRawWords(args, ctx.escapeToken, wordScratch);
  if (ws.length === 0) throw argError(`${kind} requires at least one argument`, node.location);
  if (!ws[0]!.includes("=")) {
    const m = LEGACY_KEY_VALUE.exec(args);
    if (!m) throw argError(`${kind} must have two arguments`, node.location);
    ctx.warnings.add(
      "LegacyKeyValueFormat",
      `"${kind} key=value" should be used instead of legacy "${kind} key value" format`,
      node.location,
    );
    return { pairs: [{ key: ctx.strings.share(m[1]!), value: ctx.strings.share(m[2]!) }], legacy: true };
  }
  const pairs = new Array<KeyValue>(ws.length);
  for (let k = 0; k < ws.length; k++) {
    const word = ws[k]!;
    const eq = word.indexOf("=");
    if (eq < 0) {
      throw argError(
        `Syntax error - can't find = in "${word}". Must be of the form: name=value`,
        node.location,
      );
    }
    if (eq === 0) throw argError(`${kind} names can not be blank`, node.location);
    pairs[k] = { key: ctx.strings.slice(word, 0, eq), value: ctx.strings.slice(word, eq + 1, word.length) };
  }
  return { pairs, legacy: false };
}

function readOneArgument(node: InstructionNode, kind: InstructionKind): string {
  if (node.args === "") throw argError(`${kind} requires exactly one argument`, node.location);
  return node.args;
}

/**
 * `out` with `escapeToken` inserted after `original` (the field order every instruction has).
 * Only Dockerfiles with an `escape` directive take this path.
 */
function withEscapeToken<T extends Instruction>(out: T, escapeToken: string): T {
  const { kind, location, original, ...rest } = out;
  return { kind, location, original, escapeToken, ...rest } as unknown as T;
}

/**
 * Turns one syntax node into its typed instruction, checking arity and flags.
 * @throws DockerfileError for an unknown instruction, bad flags or bad arguments.
 */
export function buildInstruction(node: InstructionNode, ctx: BuildContext): Instruction {
  const out = readInstruction(node, ctx);
  return ctx.escapeToken === "\\" ? out : withEscapeToken(out, ctx.escapeToken);
}

function readInstruction(node: InstructionNode, ctx: BuildContext): Instruction {
  const kind = node.name as InstructionKind;
  if (!INSTRUCTION_KINDS.includes(kind)) {
    const hint = suggest(node.keyword, INSTRUCTION_KINDS);
    throw new DockerfileUnknownInstructionError(
      `unknown instruction: ${node.keyword}${hint ? ` (did you mean ${hint}?)` : ""}`,
      node.keywordLocation,
    );
  }
  const flags = parseFlags(kind, node.flags);
  const location = node.location;
  const original = node.original;
  const fail = (reason: string, at: SourceLocation = location) => argError(reason, at);
  const args = node.args;
  const strings = ctx.strings;

  switch (kind) {
    case "FROM": {
      const w = words(args, strings);
      if (!(w.length === 1 || (w.length === 3 && w[1]!.toLowerCase() === "as"))) {
        throw fail("FROM requires either one or three arguments");
      }
      const out: Instruction = { kind, location, original, image: w[0]! };
      const platform = flags.string("platform");
      if (platform !== undefined) out.platform = platform;
      if (w.length === 3) {
        const raw = w[2]!;
        const name = raw.toLowerCase();
        if (!STAGE_NAME.test(name)) {
          throw fail(
            `invalid name for build stage: "${raw}", name can't start with a number or contain symbols`,
          );
        }
        out.stageName = name;
        out.stageNameRaw = raw;
        if (raw !== name)
          ctx.warnings.add("StageNameCasing", `Stage name '${raw}' should be lowercase`, location);
        const kwUpper = node.keyword === node.keyword.toUpperCase();
        const asUpper = w[1] === w[1]!.toUpperCase();
        const kwLower = node.keyword === node.keyword.toLowerCase();
        const asLower = w[1] === w[1]!.toLowerCase();
        if ((kwUpper && !asUpper) || (kwLower && !asLower)) {
          ctx.warnings.add(
            "FromAsCasing",
            `'${w[1]}' and '${node.keyword}' keywords' casing do not match`,
            location,
          );
        }
        if (RESERVED_STAGE_NAMES.has(name)) {
          ctx.warnings.add(
            "ReservedStageName",
            `'${name}' is reserved and should not be used as a stage name`,
            location,
          );
        }
      }
      if (platform !== undefined && /^\$\{?TARGETPLATFORM\}?$/.test(platform)) {
        ctx.warnings.add(
          "RedundantTargetPlatform",
          `Setting platform to predefined ${platform} in FROM is redundant as this is the default behavior`,
          location,
        );
      }
      return out;
    }
    case "RUN": {
      const heredocs = heredocsOf(node);
      const command = readCommand(node, "RUN", heredocs.length > 0, strings);
      const rawMounts = flags.list("mount");
      const mounts =
        rawMounts.length === 0 ? NONE : rawMounts.map((raw, k) => mountOf(raw, flags, k, strings));
      const out: Instruction =
        typeof command === "string"
          ? { kind, location, original, form: "shell", command, mounts, heredocs }
          : { kind, location, original, form: "exec", args: command, mounts, heredocs };
      const network = flags.string("network");
      if (network !== undefined) {
        if (network !== "default" && network !== "none" && network !== "host") {
          throw flagFail(
            flags,
            "network",
            `RUN: unsupported network mode "${network}" (use default, none or host)`,
          );
        }
        out.network = network;
      }
      const security = flags.string("security");
      if (security !== undefined) {
        if (security !== "sandbox" && security !== "insecure") {
          throw flagFail(
            flags,
            "security",
            `RUN: unsupported security mode "${security}" (use sandbox or insecure)`,
          );
        }
        out.security = security;
      }
      return out;
    }
    case "CMD":
    case "ENTRYPOINT": {
      const command = readCommand(node, kind, true, strings);
      if (typeof command === "string") {
        ctx.warnings.add(
          "JSONArgsRecommended",
          `JSON arguments recommended for ${kind} to prevent unintended behavior related to OS signals`,
          location,
        );
        return { kind, location, original, form: "shell", command };
      }
      return { kind, location, original, form: "exec", args: command };
    }
    case "COPY":
    case "ADD": {
      const { items, json } = readPathList(node, kind, strings);
      if (items.length < 2) {
        throw fail(
          items.length === 0
            ? `${kind} requires at least two arguments`
            : `${kind} requires at least two arguments, but only one was provided. Destination could not be determined`,
        );
      }
      const dest = items[items.length - 1]!;
      if (!json && heredocWord(dest)) throw fail(`${kind} cannot accept a heredoc as a destination`);
      let sources = items.slice(0, -1);
      let heredocs: Heredoc[] = NONE;
      const available = heredocsOf(node);
      if (available.length > 0) {
        sources = [];
        for (let k = 0; k < items.length - 1; k++) {
          const src = items[k]!;
          const h = json ? undefined : heredocWord(src);
          const doc = h ? available.find((d) => d.name === h.name && !heredocs.includes(d)) : undefined;
          if (doc) (heredocs === NONE ? (heredocs = []) : heredocs).push(doc);
          else sources.push(src);
        }
      }
      const chown = flags.string("chown");
      const chmod = flags.string("chmod");
      if (chmod !== undefined && !chmod.includes("$") && !isValidChmod(chmod)) {
        throw flagFail(
          flags,
          "chmod",
          `${kind}: invalid --chmod value "${chmod}": expected octal or symbolic mode`,
        );
      }
      const link = flags.bool("link");
      const exclude = flags.list("exclude");
      if (kind === "COPY") {
        const out: Instruction = {
          kind,
          location,
          original,
          sources,
          dest,
          link,
          exclude,
          heredocs,
          json,
          parents: flags.bool("parents"),
        };
        const from = flags.string("from");
        if (from !== undefined) out.from = from;
        if (chown !== undefined) out.chown = chown;
        if (chmod !== undefined) out.chmod = chmod;
        return out;
      }
      const out: Instruction = {
        kind,
        location,
        original,
        sources,
        dest,
        link,
        exclude,
        heredocs,
        json,
        keepGitDir: flags.bool("keep-git-dir"),
      };
      if (chown !== undefined) out.chown = chown;
      if (chmod !== undefined) out.chmod = chmod;
      const checksum = flags.string("checksum");
      if (checksum !== undefined) out.checksum = checksum;
      if (flags.has("unpack")) out.unpack = flags.bool("unpack");
      return out;
    }
    case "ENV":
    case "LABEL": {
      const { pairs, legacy } = readKeyValues(node, kind, ctx);
      if (kind === "ENV") {
        for (const p of pairs) checkSecretName(p.key, ctx, location, "ENV");
      }
      return { kind, location, original, pairs, legacy };
    }
    case "ARG": {
      const ws = splitRawWords(args, ctx.escapeToken, wordScratch);
      if (ws.length === 0) throw fail("ARG requires at least one argument");
      const decls = ws.map((word) => {
        const eq = word.indexOf("=");
        if (eq === 0) throw fail(`ARG names can not be blank: "${word}"`);
        return eq < 0
          ? { key: strings.share(word) }
          : { key: strings.slice(word, 0, eq), default: strings.slice(word, eq + 1, word.length) };
      });
      for (const d of decls) checkSecretName(d.key, ctx, location, "ARG");
      return { kind, location, original, args: decls };
    }
    case "WORKDIR":
      return { kind, location, original, path: readOneArgument(node, kind) };
    case "USER":
      return { kind, location, original, user: readOneArgument(node, kind) };
    case "STOPSIGNAL":
      return { kind, location, original, signal: readOneArgument(node, kind) };
    case "MAINTAINER":
      ctx.warnings.add(
        "MaintainerDeprecated",
        "Maintainer instruction is deprecated in favor of using label",
        location,
      );
      return { kind, location, original, name: readOneArgument(node, kind) };
    case "EXPOSE": {
      const ports = words(args, strings);
      if (ports.length === 0) throw fail("EXPOSE requires at least one argument");
      return { kind, location, original, ports };
    }
    case "VOLUME": {
      const { items } = readPathList(node, kind, strings);
      if (items.length === 0) throw fail("VOLUME requires at least one argument");
      if (items.some((p) => p.trim() === "")) throw fail("VOLUME specified can not be an empty string");
      return { kind, location, original, paths: items };
    }
    case "SHELL": {
      const j = parseJsonArgs(args);
      if (j.kind !== "json") throw fail("SHELL requires the arguments to be in JSON form");
      if (j.values.length === 0) throw fail("SHELL requires at least one argument");
      return { kind, location, original, args: shareAll(j.values, strings) };
    }
    case "HEALTHCHECK":
      return buildHealthcheck(node, { location, original }, flags, fail);
    case "ONBUILD": {
      const t = node.trigger;
      if (!t) throw fail("ONBUILD requires at least one argument");
      if (t.name === "ONBUILD")
        throw fail("Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed", t.keywordLocation);
      if (t.name === "FROM" || t.name === "MAINTAINER") {
        throw fail(`${t.name} isn't allowed as an ONBUILD trigger`, t.keywordLocation);
      }
      const trigger = buildInstruction(t, ctx);
      let expression = node.args;
      for (const h of t.heredocs) expression += `\n${h.body}${h.name}`;
      return { kind, location, original, expression, trigger };
    }
  }
}

function flagFail(flags: ParsedFlags, name: string, reason: string, index = 0): DockerfileError {
  return new DockerfileFlagError(reason, flags.location(name, index)!);
}

function mountOf(raw: string, flags: ParsedFlags, index: number, strings: StringTable): Mount {
  try {
    return parseMount(raw, (v) => strings.share(v), true);
  } catch (e) {
    if (e instanceof MountSyntaxError) throw flagFail(flags, "mount", `RUN --mount: ${e.message}`, index);
    throw e;
  }
}

function isLower(c: number): boolean {
  return c >= 97 && c <= 122;
}

function isUpper(c: number): boolean {
  return c >= 65 && c <= 90;
}

/** True when a word of `key` (see {@link SECRET_WORDS}) is a secret word. */
function hasSecretWord(key: string): boolean {
  const n = key.length;
  let i = 0;
  while (i < n) {
    let c = key.charCodeAt(i);
    if (!isLower(c) && !isUpper(c)) {
      i++;
      continue;
    }
    const start = i;
    let prev = c;
    for (i++; i < n; i++) {
      c = key.charCodeAt(i);
      if (!(isLower(c) || isUpper(c)) || (isLower(prev) && isUpper(c))) break;
      prev = c;
    }
    const len = i - start;
    if (len >= 3 && len <= 11 && SECRET_WORDS.has(key.slice(start, i).toLowerCase())) return true;
  }
  return false;
}

function checkSecretName(key: string, ctx: BuildContext, location: SourceLocation, kind: string): void {
  if (hasSecretWord(key)) {
    ctx.warnings.add(
      "SecretsUsedInArgOrEnv",
      `Do not use ARG or ENV instructions for sensitive data (${kind} "${key}")`,
      location,
    );
  }
}

function buildHealthcheck(
  node: InstructionNode,
  base: InstructionBase,
  flags: ParsedFlags,
  fail: (reason: string) => DockerfileError,
): Instruction {
  const args = node.args;
  const m = /^(\S+)\s*([\s\S]*)$/.exec(args);
  if (!m) throw fail("HEALTHCHECK requires at least one argument");
  const type = m[1]!.toUpperCase();
  const rest = m[2]!;
  if (type === "NONE") {
    if (rest !== "") throw fail("HEALTHCHECK NONE takes no arguments");
    return { kind: "HEALTHCHECK", ...base, none: true };
  }
  if (type !== "CMD") throw fail(`Unknown type "${m[1]}" in HEALTHCHECK (try CMD)`);
  const j = parseJsonArgs(rest);
  if (j.kind === "not-string-array") {
    throw fail(`HEALTHCHECK: the JSON array must hold only strings (element ${j.index} is not a string)`);
  }
  let form: CommandForm;
  if (j.kind === "json") form = { form: "exec", args: j.values };
  else form = { form: "shell", command: rest };
  if ((form.form === "exec" && form.args.length === 0) || (form.form === "shell" && form.command === "")) {
    throw fail("Missing command after HEALTHCHECK CMD");
  }
  const out: Instruction = { kind: "HEALTHCHECK", ...base, none: false, ...form };
  const durations = [
    ["interval", "interval"],
    ["timeout", "timeout"],
    ["start-period", "startPeriod"],
    ["start-interval", "startInterval"],
  ] as const;
  for (const [flag, field] of durations) {
    const v = flags.string(flag);
    if (v === undefined) continue;
    const ns = parseDuration(v);
    if (ns === undefined) throw flagFail(flags, flag, `HEALTHCHECK: invalid duration for --${flag}: "${v}"`);
    if (ns !== 0 && ns < 1e6) throw flagFail(flags, flag, `HEALTHCHECK: --${flag} cannot be less than 1ms`);
    if (ns < 0) throw flagFail(flags, flag, `HEALTHCHECK: --${flag} cannot be negative`);
    out[field] = ns;
  }
  const retries = flags.string("retries");
  if (retries !== undefined) {
    if (!/^-?\d+$/.test(retries))
      throw flagFail(flags, "retries", `HEALTHCHECK: invalid --retries value "${retries}"`);
    const n = Number(retries);
    if (n < 0) throw flagFail(flags, "retries", "HEALTHCHECK: --retries cannot be negative");
    out.retries = n;
  }
  return out;
}
