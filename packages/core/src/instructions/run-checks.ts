import type { ErrorLocation } from "../errors.js";
import {
  BuildArgNulByteError,
  InstructionNulByteError,
  RunArgumentTooLongError,
  RunNulByteError,
} from "../errors.js";
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

/** What a NUL byte in each kind of instruction could never be (the error's wording). */
const NUL_HOLDER: Record<string, string> = {
  ENV: "no environment variable can hold",
  ARG: "no build argument can hold",
  LABEL: "no image label may hold",
};

/**
 * The first NUL byte of the Dockerfile `text` that sits inside an instruction, as a located
 * error (checked before the build starts): `MOLT_RUN_NUL_BYTE` in a RUN (no command argument can
 * hold one), `MOLT_DOCKERFILE_NUL_BYTE` in any other instruction (an ENV/ARG value, a label, a
 * path). NUL bytes in comments and blank lines are left alone.
 */
export function checkRunNul(
  text: string,
  stages: readonly {
    instructions: readonly { kind: string; location: ErrorLocation & { endLine: number } }[];
  }[],
  preamble: readonly { kind: string; location: ErrorLocation & { endLine: number } }[] = [],
): void {
  const all = [...preamble, ...stages.flatMap((s) => s.instructions)];
  for (let at = text.indexOf("\0"); at >= 0; at = text.indexOf("\0", at + 1)) {
    const before = text.slice(0, at);
    const line = before.split("\n").length;
    const column = at - before.lastIndexOf("\n");
    const i = all.find((i) => line >= i.location.line && line <= i.location.endLine);
    if (!i) continue;
    const where = { file: i.location.file, line, column };
    if (i.kind === "RUN")
      throw new RunNulByteError("RUN contains a NUL byte, which no command argument can hold", where);
    throw new InstructionNulByteError(
      `${i.kind} contains a NUL byte, which ${NUL_HOLDER[i.kind] ?? "no path or argument can hold"}`,
      where,
    );
  }
}

/**
 * Build args (`--build-arg`, `buildArgs`) reach commands as environment variables, which cannot
 * hold a NUL byte: such a name or value is `MOLT_BUILD_ARG_NUL_BYTE` before the build starts.
 * The value is never shown.
 */
export function checkBuildArgsNul(args: Readonly<Record<string, string>>): void {
  for (const [k, v] of Object.entries(args)) {
    if (k.includes("\0"))
      throw new BuildArgNulByteError(
        `build arg ${JSON.stringify(k)}: its name contains a NUL byte, which no environment variable can hold`,
      );
    if (v.includes("\0"))
      throw new BuildArgNulByteError(
        `build arg ${k}: its value contains a NUL byte, which no environment variable can hold`,
      );
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
    throw new RunNulByteError("RUN contains a NUL byte, which no command argument can hold", where);
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
      throw new RunArgumentTooLongError(
        `RUN argument ${i + 1} is ${n} bytes, over the kernel's ${MAX_ARG}-byte limit for one argument (the shell form or a heredoc has no such limit)`,
        instr.location,
      );
  });
  return command;
}
