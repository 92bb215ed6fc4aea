#!/usr/bin/env node
import { main } from "./main.js";

const controller = new AbortController();
let interrupted = 0;
for (const sig of ["SIGINT", "SIGTERM"] as const) {
  process.on(sig, () => {
    interrupted++;
    if (interrupted > 1) process.exit(130);
    controller.abort(new Error(`received ${sig}`));
  });
}
const code = await main(
  process.argv.slice(2),
  { stdout: process.stdout, stderr: process.stderr, cwd: process.cwd() },
  controller.signal,
);
process.exitCode = code;
