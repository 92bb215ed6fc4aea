/**
 * The name a step is shown with, in BuildKit's shape: `[build 2/4] RUN make` in a multi-stage
 * build (`stage-N` for a stage without a name), `[2/4] RUN make` in a single-stage one.
 */
export function stepName(
  stage: { index: number; name?: string | undefined },
  multiStage: boolean,
  index: number,
  of: number,
  instruction: string,
): string {
  const prefix = multiStage ? `${stage.name ?? `stage-${stage.index}`} ` : "";
  return `[${prefix}${index}/${of}] ${oneLine(instruction)}`;
}

/** An instruction on one line: continuation lines joined, a here-document's body left out. */
export function oneLine(instruction: string): string {
  const joined = instruction.replace(/\\[ \t]*\r?\n[ \t]*/g, " ");
  const nl = joined.indexOf("\n");
  return (nl < 0 ? joined : joined.slice(0, nl)).trim();
}

/** The `molt:step:start` fields of a stage's `FROM` step (`[build 1/4] FROM busybox:1.36`). */
export function fromStepInfo(
  stage: { index: number; name?: string | undefined; instructions: readonly unknown[] },
  multiStage: boolean,
  base: string,
  location: { file: string; line: number; column: number },
): {
  kind: "from";
  name: string;
  stage: number;
  stageName?: string;
  index: number;
  of: number;
  instruction: string;
  location: { file: string; line: number; column: number };
} {
  const of = stage.instructions.length + 1;
  const instruction = `FROM ${base}`;
  return {
    kind: "from",
    name: stepName(stage, multiStage, 1, of, instruction),
    stage: stage.index,
    ...(stage.name ? { stageName: stage.name } : {}),
    index: 1,
    of,
    instruction,
    location: { file: location.file, line: location.line, column: location.column },
  };
}
