import { DockerfileArgumentsError, DockerfileExpansionError, DockerfileFlagError } from "../errors.js";
import { ShellExpansionError } from "../shell/errors.js";
import { expandWord, expandWords, type ShellWordOptions, type VariableLookup } from "../shell/expand.js";
import { MountSyntaxError, parseMount } from "./mounts.js";
import type { Heredoc, Instruction } from "./types.js";
import { isValidChmod } from "./values.js";

/**
 * Returns a copy of `instr` with every field expanded that the Dockerfile reference says is
 * expanded, using `lookup` for variable values:
 * - FROM image and `--platform`; COPY/ADD sources, destination, `--chown`, `--chmod`,
 *   `--exclude`, ADD `--checksum`, and the content of heredocs with unquoted delimiters;
 * - ENV and LABEL keys and values, ARG names and defaults;
 * - WORKDIR, USER, STOPSIGNAL, VOLUME paths, EXPOSE ports (split into words);
 * - every value of RUN `--mount` (mounts re-validated after expansion).
 * RUN/CMD/ENTRYPOINT/HEALTHCHECK commands, SHELL, MAINTAINER, ONBUILD triggers and
 * `COPY --from` are returned unchanged.
 *
 * @example
 * ```ts
 * const env = new Map([["APP", "/srv/app"]]);
 * expandInstruction(workdir, (n) => env.get(n)).path; // "/srv/app"
 * ```
 * @throws DockerfileError (`MOLT_DOCKERFILE_EXPANSION`) located at the instruction.
 */
export function expandInstruction<T extends Instruction>(instr: T, lookup: VariableLookup): T {
  const opts: ShellWordOptions = { escapeToken: instr.escapeToken ?? "\\" };
  const one = (w: string) => expandWord(w, lookup, opts);
  try {
    return expandUnchecked(instr, one, lookup, opts);
  } catch (e) {
    if (e instanceof ShellExpansionError) {
      throw new DockerfileExpansionError(`${instr.kind}: ${e.message}`, instr.location, {
        cause: e,
      });
    }
    if (e instanceof MountSyntaxError) {
      throw new DockerfileFlagError(`RUN --mount: ${e.message}`, instr.location, {
        cause: e,
      });
    }
    throw e;
  }
}

function expandHeredocs(docs: Heredoc[], lookup: VariableLookup, opts: ShellWordOptions): Heredoc[] {
  return docs.map((d) =>
    d.expand ? { ...d, content: expandWord(d.content, lookup, { ...opts, rawQuotes: true }) } : { ...d },
  );
}

function expandUnchecked<T extends Instruction>(
  instr: T,
  one: (w: string) => string,
  lookup: VariableLookup,
  opts: ShellWordOptions,
): T {
  const i: Instruction = instr;
  switch (i.kind) {
    case "FROM": {
      const out = { ...i, image: one(i.image) };
      if (i.platform !== undefined) out.platform = one(i.platform);
      return out as T;
    }
    case "COPY":
    case "ADD": {
      const out = {
        ...i,
        sources: i.sources.map(one),
        dest: one(i.dest),
        exclude: i.exclude.map(one),
        heredocs: expandHeredocs(i.heredocs, lookup, opts),
      };
      if (i.chown !== undefined) out.chown = one(i.chown);
      if (i.chmod !== undefined) {
        out.chmod = one(i.chmod);
        if (!isValidChmod(out.chmod)) {
          throw new DockerfileFlagError(
            `${i.kind}: invalid --chmod value "${out.chmod}": expected octal or symbolic mode`,
            i.location,
          );
        }
      }
      if (out.kind === "ADD" && out.checksum !== undefined) out.checksum = one(out.checksum);
      return out as T;
    }
    case "ENV":
    case "LABEL":
      return { ...i, pairs: i.pairs.map((p) => ({ key: one(p.key), value: one(p.value) })) } as T;
    case "ARG":
      return {
        ...i,
        args: i.args.map((a) =>
          a.default === undefined ? { key: one(a.key) } : { key: one(a.key), default: one(a.default) },
        ),
      } as T;
    case "WORKDIR":
      return { ...i, path: one(i.path) } as T;
    case "USER":
      return { ...i, user: one(i.user) } as T;
    case "STOPSIGNAL":
      return { ...i, signal: one(i.signal) } as T;
    case "VOLUME": {
      const paths = i.paths.map(one);
      if (paths.some((p) => p.trim() === "")) {
        throw new DockerfileArgumentsError("VOLUME specified can not be an empty string", i.location);
      }
      return { ...i, paths } as T;
    }
    case "EXPOSE":
      return { ...i, ports: i.ports.flatMap((p) => expandWords(p, lookup, opts)) } as T;
    case "RUN":
      return {
        ...i,
        mounts: i.mounts.map((m) => parseMount(m.raw, one)),
        heredocs: i.heredocs.map((h) => ({ ...h })),
      } as T;
    default:
      return structuredClone(i) as T;
  }
}
