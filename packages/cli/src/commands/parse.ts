import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import { decodeUtf8 } from "@molt/context-source";
import { MoltError, type Platform, parsePlatform } from "@molt/oci";
import {
  type BuildPlan,
  type Dockerfile,
  DockerfileError,
  type ExpandedStage,
  expandStages,
  type Instruction,
  parseDockerfile,
  planBuild,
  type SyntaxNode,
} from "@molt/parser";

/** Usage of `molt parse`. */
export const PARSE_USAGE = `usage: molt parse [-f Dockerfile|-] [--build-arg K=V]... [--target T] [--platform os/arch] [--json]

Parses a Dockerfile and prints its syntax tree, its stages with expansion applied (given the
build args), the stages the target needs and the warnings. -f - reads stdin.
  -f, --file PATH       Dockerfile to read (default ./Dockerfile)
      --build-arg K=V   build argument (K alone takes the value from the environment)
      --target T        stage to build (default: the last)
      --platform P      target platform for TARGET* args (default linux/amd64)
      --json            print the documented JSON document (format version 1)`;

/** Version of the `--json` document; bumped only for incompatible changes. */
export const PARSE_JSON_VERSION = 1;

/** Streams and directory of the command (stdin optional: defaults to the process's). */
export interface ParseCommandIO {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  cwd: string;
  stdin?: NodeJS.ReadableStream;
}

interface ParseFlags {
  file: string;
  buildArgs: Record<string, string>;
  target?: string;
  platform?: Platform;
  json: boolean;
  help: boolean;
}

class ParseUsageError extends Error {}

function parseFlags(argv: string[]): ParseFlags {
  const flags: ParseFlags = { file: "Dockerfile", buildArgs: {}, json: false, help: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const eq = arg.startsWith("--") ? arg.indexOf("=") : -1;
    const name = eq >= 0 ? arg.slice(0, eq) : arg;
    const value = (): string => {
      if (eq >= 0) return arg.slice(eq + 1);
      const v = argv[++i];
      if (v === undefined) throw new ParseUsageError(`flag ${name} needs a value`);
      return v;
    };
    switch (name) {
      case "-f":
      case "--file":
        flags.file = value();
        break;
      case "--build-arg": {
        const kv = value();
        const k = kv.indexOf("=");
        if (k === 0) throw new ParseUsageError(`invalid --build-arg "${kv}": expected KEY=VALUE`);
        if (k < 0) {
          const fromEnv = process.env[kv];
          if (fromEnv !== undefined) flags.buildArgs[kv] = fromEnv;
        } else {
          flags.buildArgs[kv.slice(0, k)] = kv.slice(k + 1);
        }
        break;
      }
      case "--target":
        flags.target = value();
        break;
      case "--platform":
        try {
          flags.platform = parsePlatform(value());
        } catch (e) {
          throw new ParseUsageError((e as Error).message);
        }
        break;
      case "--json":
        flags.json = true;
        break;
      case "-h":
      case "--help":
        flags.help = true;
        break;
      default:
        throw new ParseUsageError(`unknown flag "${arg}"`);
    }
  }
  return flags;
}

async function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream)
    chunks.push(typeof chunk === "string" ? Buffer.from(chunk) : (chunk as Buffer));
  return Buffer.concat(chunks);
}

/**
 * `molt parse`: parses a Dockerfile and prints the syntax tree, the typed stages with expansion
 * applied, the stages the target needs and the warnings (`--json`: one JSON document, see the
 * parser README). Returns 0, 1 on a Dockerfile error (printed with its line and column), or 2
 * on a usage error.
 */
export async function parseCommand(
  argv: string[],
  io: ParseCommandIO,
  _signal?: AbortSignal,
): Promise<number> {
  let flags: ParseFlags;
  try {
    flags = parseFlags(argv);
  } catch (e) {
    if (!(e instanceof ParseUsageError)) throw e;
    io.stderr.write(`molt parse: ${e.message}\n${PARSE_USAGE}\n`);
    return 2;
  }
  if (flags.help) {
    io.stdout.write(`${PARSE_USAGE}\n`);
    return 0;
  }
  const fromStdin = flags.file === "-";
  const displayName = fromStdin ? "<stdin>" : flags.file;
  let text: string;
  try {
    const bytes = fromStdin
      ? await readAll(io.stdin ?? process.stdin)
      : await readFile(resolve(io.cwd, flags.file));
    const decoded = decodeUtf8(bytes);
    text = decoded.text;
    // As `molt build` does: invalid UTF-8 is read as U+FFFD, never silently.
    if (decoded.invalid) {
      const { line, column } = decoded.invalid;
      io.stderr.write(
        `molt parse: warning: ${displayName}:${line}:${column}: not valid UTF-8; the invalid bytes are read as U+FFFD [MOLT_DOCKERFILE_INVALID_UTF8]\n`,
      );
    }
  } catch (e) {
    io.stderr.write(`molt parse: cannot read ${displayName}: ${(e as Error).message}\n`);
    return 1;
  }
  try {
    const df = parseDockerfile(text, { file: displayName });
    const options = {
      buildArgs: flags.buildArgs,
      ...(flags.target !== undefined ? { target: flags.target } : {}),
      ...(flags.platform ? { platform: flags.platform } : {}),
    };
    const plan = planBuild(df, options);
    const stages = expandStages(df, options);
    io.stdout.write(
      flags.json ? `${JSON.stringify(toJson(df, stages, plan), null, 2)}\n` : renderText(df, stages, plan),
    );
    return 0;
  } catch (e) {
    if (e instanceof DockerfileError) {
      if (flags.json)
        io.stdout.write(`${JSON.stringify({ version: PARSE_JSON_VERSION, error: errorJson(e) }, null, 2)}\n`);
      io.stderr.write(e.render(text));
      return 1;
    }
    if (e instanceof MoltError) {
      io.stderr.write(`molt parse: ${e.message} [${e.code}]\n`);
      return 1;
    }
    throw e;
  }
}

function errorJson(e: DockerfileError) {
  return {
    code: e.code,
    message: e.reason,
    file: e.file,
    line: e.line,
    column: e.column,
    location: e.location,
  };
}

/** The `--json` document (format version 1, documented in the parser README). */
export function toJson(df: Dockerfile, stages: ExpandedStage[], plan: BuildPlan) {
  return {
    version: PARSE_JSON_VERSION,
    file: df.file,
    directives: df.directives,
    syntax: { bom: df.syntax.bom, escapeToken: df.syntax.escapeToken, nodes: df.syntax.nodes },
    metaArgs: df.metaArgs,
    stages: stages.map((s) => ({
      index: s.index,
      name: s.name ?? null,
      from: s.from,
      instructions: s.instructions,
      env: s.env,
      args: s.args,
    })),
    plan: {
      target: plan.target.stage.index,
      metaArgs: plan.metaArgs,
      stages: plan.stages.map((p) => ({
        index: p.stage.index,
        name: p.stage.name ?? null,
        baseImage: p.baseImage ?? null,
        baseStage: p.baseStage ?? null,
        platform: p.platform ?? null,
        dependsOn: p.dependsOn,
        externalImages: p.externalImages,
      })),
    },
    warnings: df.warnings,
  };
}

function at(n: { location: { line: number; column: number; endLine: number; endColumn: number } }): string {
  const l = n.location;
  return `${l.line}:${l.column}-${l.endLine}:${l.endColumn}`;
}

function nodeLine(n: SyntaxNode): string {
  switch (n.type) {
    case "directive":
      return `directive ${n.name}=${n.value}`;
    case "comment":
      return `comment #${n.text}`;
    case "blank":
      return "blank";
    case "instruction": {
      const flags = n.flags.map((f) => ` ${f.raw}`).join("");
      const docs = n.heredocs
        .map((h) => ` [heredoc ${h.name}: ${h.body.split("\n").length - 1} line(s)]`)
        .join("");
      return `${n.name}${flags} ${JSON.stringify(n.args)}${docs}`;
    }
  }
}

function describeInstruction(i: Instruction): string {
  const q = JSON.stringify;
  switch (i.kind) {
    case "FROM":
      return `FROM ${i.image}${i.platform ? ` --platform=${i.platform}` : ""}${i.stageName ? ` AS ${i.stageName}` : ""}`;
    case "RUN": {
      const opts = [
        ...i.mounts.map((m) => `--mount=${m.type}:${"target" in m && m.target ? m.target : ""}`),
        ...(i.network ? [`--network=${i.network}`] : []),
        ...(i.security ? [`--security=${i.security}`] : []),
      ];
      const body = i.form === "exec" ? `exec ${q(i.args)}` : `shell ${q(i.command)}`;
      return `RUN ${opts.length ? `${opts.join(" ")} ` : ""}${body}${i.heredocs.map((h) => ` <<${h.name}`).join("")}`;
    }
    case "CMD":
    case "ENTRYPOINT":
      return `${i.kind} ${i.form === "exec" ? `exec ${q(i.args)}` : `shell ${q(i.command)}`}`;
    case "COPY":
    case "ADD": {
      const opts: string[] = [];
      if (i.kind === "COPY" && i.from !== undefined) opts.push(`from=${i.from}`);
      if (i.chown !== undefined) opts.push(`chown=${i.chown}`);
      if (i.chmod !== undefined) opts.push(`chmod=${i.chmod}`);
      if (i.link) opts.push("link");
      if (i.kind === "COPY" && i.parents) opts.push("parents");
      if (i.kind === "ADD" && i.keepGitDir) opts.push("keep-git-dir");
      if (i.kind === "ADD" && i.checksum !== undefined) opts.push(`checksum=${i.checksum}`);
      if (i.kind === "ADD" && i.unpack !== undefined) opts.push(`unpack=${i.unpack}`);
      for (const x of i.exclude) opts.push(`exclude=${x}`);
      const sources = [...i.sources.map((s) => q(s)), ...i.heredocs.map((h) => `<<${h.name}`)];
      return `${i.kind} ${sources.join(" ")} -> ${q(i.dest)}${opts.length ? ` (${opts.join(", ")})` : ""}`;
    }
    case "ENV":
    case "LABEL":
      return `${i.kind} ${i.pairs.map((p) => `${p.key}=${q(p.value)}`).join(" ")}`;
    case "ARG":
      return `ARG ${i.args.map((a) => (a.default === undefined ? a.key : `${a.key}=${q(a.default)}`)).join(" ")}`;
    case "WORKDIR":
      return `WORKDIR ${q(i.path)}`;
    case "USER":
      return `USER ${q(i.user)}`;
    case "EXPOSE":
      return `EXPOSE ${i.ports.join(" ")}`;
    case "VOLUME":
      return `VOLUME ${q(i.paths)}`;
    case "STOPSIGNAL":
      return `STOPSIGNAL ${i.signal}`;
    case "SHELL":
      return `SHELL ${q(i.args)}`;
    case "MAINTAINER":
      return `MAINTAINER ${q(i.name)}`;
    case "HEALTHCHECK":
      if (i.none) return "HEALTHCHECK NONE";
      return `HEALTHCHECK ${i.form === "exec" ? `exec ${q(i.args)}` : `shell ${q(i.command)}`}`;
    case "ONBUILD":
      return `ONBUILD ${describeInstruction(i.trigger)}`;
  }
}

/** The human-readable report. */
export function renderText(df: Dockerfile, stages: ExpandedStage[], plan: BuildPlan): string {
  const out: string[] = [];
  out.push(`# ${df.file}`);
  const d = df.directives;
  out.push(
    `directives: escape=${d.escape}${d.syntax ? ` syntax=${d.syntax}` : ""}${d.check ? ` check=${JSON.stringify(d.check)}` : ""}`,
  );
  out.push("", "syntax tree:");
  for (const n of df.syntax.nodes) out.push(`  ${at(n).padEnd(13)} ${nodeLine(n)}`);
  out.push("", "stages (expanded):");
  const needed = new Set(plan.stages.map((p) => p.stage.index));
  for (const s of stages) {
    const mark =
      s.index === plan.target.stage.index ? " (target)" : needed.has(s.index) ? "" : " (not needed)";
    out.push(`  [${s.index}]${s.name ? ` ${s.name}` : ""}${mark}: ${describeInstruction(s.from)}`);
    for (const i of s.instructions)
      out.push(`      ${String(i.location.line).padStart(4)}  ${describeInstruction(i)}`);
  }
  out.push("", `build order for target ${plan.target.stage.name ?? plan.target.stage.index}:`);
  for (const p of plan.stages) {
    const base = p.baseStage !== undefined ? `stage ${p.baseStage}` : p.baseImage;
    const deps = p.dependsOn.length ? `, needs ${p.dependsOn.join(", ")}` : "";
    const ext = p.externalImages.length ? `, images ${p.externalImages.join(", ")}` : "";
    out.push(`  [${p.stage.index}]${p.stage.name ? ` ${p.stage.name}` : ""} from ${base}${deps}${ext}`);
  }
  out.push("", `warnings: ${df.warnings.length}`);
  for (const w of df.warnings)
    out.push(`  ${w.location.file}:${w.location.line}:${w.location.column}: ${w.rule}: ${w.message}`);
  return `${out.join("\n")}\n`;
}
