import { DockerfileError, type Instruction, parseDockerfile } from "../src/index.js";

/** The typed instructions of `FROM scratch\n<body>` (after the FROM). */
export function instr(body: string): Instruction[] {
  return parseDockerfile(`FROM scratch\n${body}\n`).stages[0]!.instructions;
}

/** The single typed instruction of `body`. */
export function one(body: string): Instruction {
  const list = instr(body);
  if (list.length !== 1) throw new Error(`expected one instruction, got ${list.length}`);
  return list[0]!;
}

/** The DockerfileError thrown by `fn`. */
export function errorOf(fn: () => unknown): DockerfileError {
  try {
    fn();
  } catch (e) {
    if (e instanceof DockerfileError) return e;
    throw e;
  }
  throw new Error("expected a DockerfileError");
}

/** The DockerfileError of parsing `FROM scratch\n<body>`. */
export function parseError(body: string): DockerfileError {
  return errorOf(() => parseDockerfile(`FROM scratch\n${body}\n`));
}
