import type { Instruction } from "@molt/parser";
import { expandWord } from "@molt/parser";

type ArgInstruction = Extract<Instruction, { kind: "ARG" }>;

/**
 * Values of the ARGs declared before the first FROM: a build arg wins, else the default,
 * expanded with the meta ARGs declared before it.
 */
export function metaArgValues(
  metaArgs: readonly ArgInstruction[],
  buildArgs: Record<string, string>,
): Map<string, string> {
  const values = new Map<string, string>();
  for (const arg of metaArgs) {
    for (const a of arg.args) {
      const v = Object.hasOwn(buildArgs, a.key)
        ? buildArgs[a.key]
        : a.default !== undefined
          ? expandWord(a.default, (n) => values.get(n))
          : undefined;
      if (v !== undefined) values.set(a.key, v);
    }
  }
  return values;
}
