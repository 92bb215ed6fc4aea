import type { ErrorLocation } from "../errors.js";
import { BuildStepError } from "../errors.js";
import type { RunCommand } from "../runner/heredoc.js";

/** The kernel refuses a single argument longer than this (`MAX_ARG_STRLEN`, 32 pages). */
const MAX_ARG = 128 * 1024;
/** A shell script longer than this goes to the shell through a file instead of `-c`. */
const SCRIPT_IN_FILE_OVER = 64 * 1024;
/** Where such a script is, only while the command runs (as a `#!` heredoc is). */
export const LONG_SCRIPT_PATH = "/dev/pipes/molt-run-script";

const POSIX_SHELLS = /(^|\/)(sh|bash|dash|ash|ksh|mksh|zsh|busybox)$/;

/** Where the first NUL of `text` (the instruction as written, starting at `loc`) sits. */
function locate(text: string, at: number, loc: ErrorLocation): ErrorLocation {
  const before = text.slice(0, at);
  const nl = before.lastIndexOf("\n");
  const lines = before.split("\n").length - 1;
  return { ...loc, line: loc.line + lines, column: nl < 0 ? loc.column + at : at - nl };
}

/**
 * The first NUL byte of the Dockerfile `text` that sits inside a RUN instruction, as a located
 * `MOLT_RUN_NUL_BYTE` (checked before the build starts; no command argument can hold one).
 */
export function checkRunNul(
  text: string,
  stages: readonly {
    instructions: readonly { kind: string; location: ErrorLocation & { endLine: number } }[];
  }[],
): void {
  const at = text.indexOf("\0");
  if (at < 0) return;
  const before = text.slice(0, at);
  const line = before.split("\n").length;
  const column = at - before.lastIndexOf("\n");
  for (const stage of stages) {
    for (const i of stage.instructions) {
      if (i.kind !== "RUN" || line < i.location.line || line > i.location.endLine) continue;
      throw new BuildStepError(
        "MOLT_RUN_NUL_BYTE",
        "RUN contains a NUL byte, which no command argument can hold",
        { file: i.location.file, line, column },
      );
    }
  }
}

/**
 * Checks a RUN's command before it starts, so the kernel never answers with a bare errno:
 * a NUL byte (which no argument can hold) is a located `MOLT_RUN_NUL_BYTE`; a shell-form script
 * too long for the kernel's 128 KiB argument limit is passed through a file (`sh -c '.
 * /dev/pipes/molt-run-script'`) and just works; an exec-form argument that long is
 * `MOLT_RUN_TOO_LONG`.
 */
export function checkRunCommand(
  command: RunCommand,
  shell: readonly string[],
  instr: { original: string; location: ErrorLocation },
): RunCommand {
  for (const a of command.argv) {
    if (!a.includes("\0")) continue;
    const at = instr.original.indexOf("\0");
    const where = at >= 0 ? locate(instr.original, at, instr.location) : instr.location;
    throw new BuildStepError(
      "MOLT_RUN_NUL_BYTE",
      "RUN contains a NUL byte, which no command argument can hold",
      where,
    );
  }
  const last = command.argv.at(-1) ?? "";
  const shellForm =
    command.transientFiles.length === 0 &&
    command.argv.length === shell.length + 1 &&
    shell.every((s, i) => command.argv[i] === s) &&
    shell.at(-1) === "-c" &&
    POSIX_SHELLS.test(shell[0] ?? "");
  if (shellForm && Buffer.byteLength(last) > SCRIPT_IN_FILE_OVER) {
    return {
      argv: [...shell, `. ${LONG_SCRIPT_PATH}`],
      transientFiles: [{ path: LONG_SCRIPT_PATH, content: last, mode: 0o644 }],
    };
  }
  command.argv.forEach((a, i) => {
    const n = Buffer.byteLength(a);
    if (n >= MAX_ARG)
      throw new BuildStepError(
        "MOLT_RUN_TOO_LONG",
        `RUN argument ${i + 1} is ${n} bytes, over the kernel's ${MAX_ARG}-byte limit for one argument (the shell form or a heredoc has no such limit)`,
        instr.location,
      );
  });
  return command;
}
