import type { Heredoc } from "@molt/parser";
import type { TransientFile } from "./types.js";

/** What a RUN executes: argv plus files that must exist only while it runs. */
export interface RunCommand {
  argv: string[];
  /** Non-empty only for a single `#!` heredoc: the script, at `/dev/pipes/<name>`. */
  transientFiles: TransientFile[];
}

/** The parts of a typed `RUN` instruction that decide what is executed. */
export type RunCommandSource =
  | { form: "exec"; args: string[]; heredocs?: readonly Pick<Heredoc, "name" | "content">[] }
  | { form: "shell"; command: string; heredocs?: readonly Pick<Heredoc, "name" | "content">[] };

/** The default `SHELL` of Linux images. */
export const DEFAULT_SHELL: readonly string[] = ["/bin/sh", "-c"];

const SINGLE_HEREDOC = /^(\d*)<<(-?)([^<]*)$/;

function scriptName(name: string): string {
  return /^[A-Za-z0-9_.-]+$/.test(name) && name !== "." && name !== ".." ? name : "heredoc";
}

/**
 * Turns a RUN instruction into the argv to execute, following the Dockerfile reference and
 * BuildKit:
 * - exec form: the arguments as they are, no shell;
 * - shell form: `[...shell, command]`;
 * - a command that is a single heredoc (`RUN <<EOF`): when the body starts with `#!` it becomes
 *   an executable file `/dev/pipes/EOF` (mode 0755, only present during the run) run through the
 *   shell, so its interpreter line decides; otherwise the body itself is the shell's script;
 * - anything else with heredocs (`RUN <<A cat > a && 3<<B cmd`, `RUN python3 <<EOF`): the
 *   command line followed by each body and its delimiter is handed to the shell, which does the
 *   redirections (fd prefixes included) itself.
 * Heredoc bodies are not expanded here: with an unquoted delimiter the shell expands them at
 * run time with the RUN's environment (ARGs and ENV are in it), as BuildKit does.
 *
 * @example
 * ```ts
 * heredocRunArgv({ form: "shell", command: "<<EOF", heredocs: [doc] }, ["/bin/sh", "-c"])
 * // doc.content "#!/bin/sh\necho hi\n" → { argv: ["/bin/sh", "-c", "/dev/pipes/EOF"], transientFiles: [{ path: "/dev/pipes/EOF", … }] }
 * ```
 */
export function heredocRunArgv(run: RunCommandSource, shell: readonly string[] = DEFAULT_SHELL): RunCommand {
  if (run.form === "exec") return { argv: [...run.args], transientFiles: [] };
  const docs = run.heredocs ?? [];
  if (docs.length === 0) return { argv: [...shell, run.command], transientFiles: [] };
  const single = SINGLE_HEREDOC.exec(run.command.trim());
  if (single && single[3]!.trim() !== "" && !/\s/.test(single[3]!.trim())) {
    const doc = docs[0]!;
    if (doc.content.startsWith("#!")) {
      const path = `/dev/pipes/${scriptName(doc.name)}`;
      return { argv: [...shell, path], transientFiles: [{ path, content: doc.content, mode: 0o755 }] };
    }
    return { argv: [...shell, doc.content], transientFiles: [] };
  }
  let full = run.command;
  for (const d of docs) full += `\n${d.content}${d.name}`;
  return { argv: [...shell, full], transientFiles: [] };
}
