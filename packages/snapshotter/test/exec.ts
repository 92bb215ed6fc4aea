import { run } from "../../../test/harness/exec.js";

/** The shared harness runner, under the name these tests use. */
export const exec = run;

/** Runs a POSIX shell script with `-eu`. */
export const sh = (script: string) => run("sh", ["-euc", script]);
