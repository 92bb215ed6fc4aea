import type { Instruction } from "@molt/parser";

type CommandForm = Extract<Instruction, { kind: "CMD" }>;

/** The argv an exec- or shell-form CMD/ENTRYPOINT/RUN stands for, using the stage's SHELL. */
export function commandArgv(
  instr: Pick<CommandForm, "form"> & Partial<{ args: string[]; command: string }>,
  shell: string[] | undefined,
): string[] {
  if (instr.form === "exec") return [...(instr.args ?? [])];
  const sh = shell && shell.length > 0 ? shell : ["/bin/sh", "-c"];
  return [...sh, instr.command ?? ""];
}
